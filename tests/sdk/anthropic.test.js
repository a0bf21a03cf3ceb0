// The official Anthropic SDK (npm @anthropic-ai/sdk) against the hub's
// Messages API: baseURL = the hub, apiKey = a hub key (sent as x-api-key).
// The hub converts a Messages request to its canonical form, so an OpenAI
// model answers through /v1/messages as well as an Anthropic one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { hubURL, hubKey, revokedKey, badKey, chatModel, claudeModel, weatherSchema } from './hub.js';

const client = new Anthropic({ baseURL: hubURL, apiKey: hubKey, maxRetries: 0 });

const weatherTool = { name: 'get_weather', description: 'Get the weather', input_schema: weatherSchema };

function checkMessage(msg, model) {
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.match(msg.id, /^msg_/);
  assert.equal(msg.model, model);
  assert.ok(msg.usage.input_tokens > 0, `input tokens ${JSON.stringify(msg.usage)}`);
  assert.ok(msg.usage.output_tokens > 0, `output tokens ${JSON.stringify(msg.usage)}`);
}

for (const model of [chatModel, claudeModel]) {
  test(`messages.create, non-stream (${model})`, async () => {
    const { data: msg, response, request_id } = await client.messages
      .create({
        model,
        max_tokens: 256,
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'Say hello in French.' }],
      })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(request_id, /^req_/, 'request-id is the hub request id');
    checkMessage(msg, model);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, 'text');
    assert.ok(msg.content[0].text.length > 0);
  });

  test(`messages.stream, event sequence and final message (${model})`, async () => {
    const stream = client.messages.stream({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Say hello in French.' }],
    });
    const events = [];
    let deltas = '';
    for await (const ev of stream) {
      events.push(ev.type);
      if (ev.type === 'content_block_delta') {
        assert.equal(ev.delta.type, 'text_delta');
        deltas += ev.delta.text;
      }
    }
    const msg = await stream.finalMessage();
    // message_start, then each block's start, deltas and stop, then
    // message_delta and message_stop (pings may come anywhere).
    const seq = events.filter((t) => t !== 'ping');
    assert.equal(seq[0], 'message_start', seq.join(' '));
    assert.equal(seq[1], 'content_block_start', seq.join(' '));
    assert.ok(seq.filter((t) => t === 'content_block_delta').length > 1, seq.join(' '));
    assert.deepEqual(seq.slice(-3), ['content_block_stop', 'message_delta', 'message_stop'], seq.join(' '));
    assert.equal(seq.filter((t) => t === 'message_start' || t === 'message_stop').length, 2);
    checkMessage(msg, model);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].text, deltas);
  });
}

test('configured from the environment alone', async () => {
  process.env.ANTHROPIC_BASE_URL = hubURL;
  process.env.ANTHROPIC_API_KEY = hubKey;
  try {
    const msg = await new Anthropic().messages.create({ model: chatModel, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
    assert.ok(msg.content[0].text.length > 0);
  } finally {
    delete process.env.ANTHROPIC_BASE_URL;
    delete process.env.ANTHROPIC_API_KEY;
  }
});

test('messages.create with stream: true, raw events', async () => {
  const stream = await client.messages.create({
    model: chatModel,
    max_tokens: 256,
    messages: [{ role: 'user', content: 'Say hello in French.' }],
    stream: true,
  });
  let start = null;
  let delta = null;
  let text = '';
  for await (const ev of stream) {
    if (ev.type === 'message_start') start = ev.message;
    if (ev.type === 'content_block_delta') text += ev.delta.text;
    if (ev.type === 'message_delta') delta = ev;
  }
  assert.ok(start, 'message_start');
  assert.equal(start.role, 'assistant');
  assert.deepEqual(start.content, []);
  assert.equal(start.stop_reason, null);
  assert.ok(text.length > 0);
  assert.equal(delta.delta.stop_reason, 'end_turn');
  assert.ok(delta.usage.output_tokens > 0, JSON.stringify(delta.usage));
});

for (const model of [chatModel, claudeModel]) {
  test(`tool_use round trip (${model})`, async () => {
    const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.messages.create({ model, max_tokens: 256, tools: [weatherTool], messages });
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(first.content));
    assert.ok(typeof use.id === 'string' && use.id.length > 0, 'tool_use id');
    assert.equal(use.name, 'get_weather');
    assert.equal(typeof use.input.city, 'string', JSON.stringify(use.input));

    messages.push(
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '21 degrees and sunny' }] },
    );
    const second = await client.messages.create({ model, max_tokens: 256, tools: [weatherTool], messages });
    assert.equal(second.stop_reason, 'end_turn');
    assert.ok(second.content.some((b) => b.type === 'text' && b.text.length > 0), JSON.stringify(second.content));
  });
}

test('tool_use, streamed', async () => {
  const stream = client.messages.stream({
    model: chatModel,
    max_tokens: 256,
    tools: [weatherTool],
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
  });
  let json = '';
  stream.on('inputJson', (partial) => (json += partial));
  const msg = await stream.finalMessage();
  assert.equal(msg.stop_reason, 'tool_use');
  const use = msg.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(msg.content));
  assert.equal(use.name, 'get_weather');
  assert.equal(typeof use.input.city, 'string', JSON.stringify(use.input));
  assert.deepEqual(JSON.parse(json), use.input);
});

test('messages.countTokens', async () => {
  const short = await client.messages.countTokens({
    model: chatModel,
    messages: [{ role: 'user', content: 'Hi' }],
  });
  const long = await client.messages.countTokens({
    model: chatModel,
    system: 'You are terse.',
    tools: [weatherTool],
    messages: [{ role: 'user', content: 'What is the weather in Paris? '.repeat(20) }],
  });
  assert.ok(short.input_tokens > 0, JSON.stringify(short));
  assert.ok(long.input_tokens > short.input_tokens, `${long.input_tokens} > ${short.input_tokens}`);
});

test('a bad key is an AuthenticationError', async () => {
  for (const apiKey of [badKey, revokedKey]) {
    const bad = new Anthropic({ baseURL: hubURL, apiKey, maxRetries: 0 });
    await assert.rejects(
      bad.messages.create({ model: chatModel, max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }),
      (err) => {
        assert.ok(err instanceof Anthropic.AuthenticationError, `${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 401);
        assert.equal(err.type, 'authentication_error');
        assert.equal(err.error.type, 'error');
        assert.match(err.requestID, /^req_/);
        return true;
      },
    );
  }
});

test('an unknown model is a NotFoundError', async () => {
  await assert.rejects(
    client.messages.create({ model: 'no-such-model', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }),
    (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 404);
      assert.equal(err.type, 'not_found_error');
      return true;
    },
  );
});

test('a request without max_tokens is a BadRequestError', async () => {
  await assert.rejects(
    client.messages.create({ model: chatModel, messages: [{ role: 'user', content: 'Hi' }] }),
    (err) => {
      assert.ok(err instanceof Anthropic.BadRequestError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.type, 'invalid_request_error');
      return true;
    },
  );
});

test('models.list iterates the hub models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const id of ['openai/gpt-4o-mini', 'openai/gpt-4o', 'anthropic/' + claudeModel]) {
    assert.ok(ids.includes(id), `${id} in ${ids}`);
  }
});

// models.list() is GET /v1/models with anthropic-version: the hub answers
// Anthropic's page shape ({"data":[{"type":"model","id","display_name",
// "created_at"}],"has_more","first_id","last_id"}) to such requests.
test('models.list items in Anthropic shape', async () => {
  for await (const m of client.models.list()) {
    assert.equal(m.type, 'model', JSON.stringify(m));
    assert.equal(typeof m.display_name, 'string', JSON.stringify(m));
    assert.match(m.created_at, /^\d{4}-\d\d-\d\dT/, JSON.stringify(m));
  }
});
