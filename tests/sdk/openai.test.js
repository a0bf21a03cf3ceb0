// The official OpenAI SDK (npm openai) against the hub's OpenAI surface:
// baseURL = the hub's /v1, apiKey = a hub key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { hubURL, hubKey, revokedKey, badKey, chatModel, embeddingModel, weatherSchema } from './hub.js';

const client = new OpenAI({ baseURL: hubURL + '/v1', apiKey: hubKey, maxRetries: 0 });

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Get the weather', parameters: weatherSchema },
};

test('chat completion, non-stream', async () => {
  const { data: completion, response, request_id } = await client.chat.completions
    .create({ model: chatModel, messages: [{ role: 'user', content: 'Say hello in French.' }] })
    .withResponse();
  assert.equal(response.status, 200);
  assert.match(request_id, /^req_/, 'x-request-id is the hub request id');
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.equal(choice.message.role, 'assistant');
  assert.ok(choice.message.content.length > 0, 'content');
  assert.equal(choice.finish_reason, 'stop');
  assert.ok(completion.usage.prompt_tokens > 0, 'prompt tokens');
  assert.ok(completion.usage.completion_tokens > 0, 'completion tokens');
  assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
});

test('configured from the environment alone', async () => {
  process.env.OPENAI_BASE_URL = hubURL + '/v1';
  process.env.OPENAI_API_KEY = hubKey;
  try {
    const completion = await new OpenAI().chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Hi' }] });
    assert.ok(completion.choices[0].message.content.length > 0);
  } finally {
    delete process.env.OPENAI_BASE_URL;
    delete process.env.OPENAI_API_KEY;
  }
});

test('chat completion, provider-qualified model', async () => {
  const completion = await client.chat.completions.create({
    model: 'openai/' + chatModel,
    messages: [{ role: 'user', content: 'Hi' }],
  });
  assert.ok(completion.choices[0].message.content.length > 0);
});

test('chat completion, stream with usage', async () => {
  const stream = await client.chat.completions.create({
    model: chatModel,
    messages: [{ role: 'user', content: 'Say hello in French.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) {
      assert.equal(usage, null, 'one usage chunk');
      assert.equal(chunk.choices.length, 0, 'the usage chunk has no choices');
      usage = chunk.usage;
    }
  }
  assert.ok(chunks > 2, `${chunks} chunks`);
  assert.ok(text.length > 0, 'streamed text');
  assert.equal(finish, 'stop');
  assert.ok(usage, 'usage chunk');
  assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0, JSON.stringify(usage));
});

test('chat completion, stream helper assembles the final completion', async () => {
  const stream = client.chat.completions.stream({
    model: chatModel,
    messages: [{ role: 'user', content: 'Say hello in French.' }],
  });
  let deltas = '';
  stream.on('content.delta', ({ delta }) => (deltas += delta));
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].message.content, deltas);
  assert.equal(final.choices[0].finish_reason, 'stop');
});

test('tool call round trip', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model: chatModel, messages, tools: [weatherTool] });
  const [choice] = first.choices;
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const [call] = choice.message.tool_calls;
  assert.equal(call.type, 'function');
  assert.ok(call.id, 'tool call id');
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, 'string');

  messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature":21}' });
  const second = await client.chat.completions.create({ model: chatModel, messages, tools: [weatherTool] });
  assert.equal(second.choices[0].finish_reason, 'stop');
  assert.ok(second.choices[0].message.content.length > 0);
});

test('tool call, streamed', async () => {
  const stream = client.chat.completions.stream({
    model: chatModel,
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [weatherTool],
  });
  const final = await stream.finalChatCompletion();
  const [choice] = final.choices;
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
  assert.equal(typeof JSON.parse(choice.message.tool_calls[0].function.arguments).city, 'string');
});

test('embeddings', async () => {
  // The SDK asks for base64 by default and decodes it to floats.
  for (const encoding_format of [undefined, 'float']) {
    const res = await client.embeddings.create({ model: embeddingModel, input: ['first text', 'second'], encoding_format });
    assert.equal(res.object, 'list');
    assert.equal(res.data.length, 2);
    res.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.ok(Array.isArray(d.embedding) && d.embedding.length > 0, `embedding ${i} (${encoding_format})`);
      assert.ok(d.embedding.every(Number.isFinite));
    });
    assert.ok(res.usage.prompt_tokens > 0);
  }
});

test('models.list', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, 'model');
    ids.push(m.id);
  }
  for (const id of ['openai/gpt-4o-mini', 'openai/gpt-4o', 'openai/' + embeddingModel]) {
    assert.ok(ids.includes(id), `${id} in ${ids}`);
  }
});

test('a bad key is an AuthenticationError', async () => {
  for (const apiKey of [badKey, revokedKey]) {
    const bad = new OpenAI({ baseURL: hubURL + '/v1', apiKey, maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.AuthenticationError, `${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 401);
        assert.equal(err.code, 'invalid_api_key');
        assert.equal(err.type, 'invalid_request_error');
        assert.match(err.requestID, /^req_/);
        return true;
      },
    );
  }
});

test('an unknown model is a NotFoundError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      return true;
    },
  );
});
