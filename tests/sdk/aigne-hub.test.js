// The official AIGNE Hub client (npm @aigne/aigne-hub with @aigne/core)
// against the hub's AIGNE Hub v2 API, as an existing AIGNE app switches to
// it: BLOCKLET_AIGNE_API_PROVIDER=aignehub, and the hub as baseURL. The
// client finds the API through GET /__blocklet__.js?type=json (the mount
// point of AIGNE Hub's component) and calls POST /api/v2/chat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hubURL, hubKey, revokedKey, badKey, chatModel, weatherSchema } from './hub.js';

process.env.BLOCKLET_AIGNE_API_PROVIDER = 'aignehub';
process.env.AIGNE_HUB_API_URL = hubURL; // read by the static models()

const { AIGNEHubChatModel } = await import('@aigne/aigne-hub');

const model = 'openai/' + chatModel;
const hub = new AIGNEHubChatModel({ baseURL: hubURL, apiKey: hubKey, model });

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Get the weather', parameters: weatherSchema },
};

function checkUsage(usage) {
  assert.ok(usage, 'usage');
  assert.ok(usage.inputTokens > 0, JSON.stringify(usage));
  assert.ok(usage.outputTokens > 0, JSON.stringify(usage));
}

test('the client reaches the hub through its blocklet mount point', async () => {
  const { url, apiKey } = await hub.credential;
  assert.equal(new URL(url).origin, new URL(hubURL).origin);
  assert.match(new URL(url).pathname, /\/api\/v2\/chat$/);
  assert.equal(apiKey, hubKey);
});

test('chat, non-stream', async () => {
  const out = await hub.invoke({
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello in French.' },
    ],
  });
  assert.equal(typeof out.text, 'string');
  assert.ok(out.text.length > 0, JSON.stringify(out));
  assert.ok(!out.toolCalls?.length, JSON.stringify(out));
  checkUsage(out.usage);
});

test('chat, stream', async () => {
  const stream = await hub.invoke(
    { messages: [{ role: 'user', content: 'Say hello in French.' }] },
    { streaming: true },
  );
  let text = '';
  let deltas = 0;
  const json = {};
  for await (const chunk of stream) {
    const t = chunk.delta?.text?.text;
    if (t) {
      text += t;
      deltas++;
    }
    if (chunk.delta?.json) Object.assign(json, chunk.delta.json);
  }
  assert.ok(deltas > 1, `${deltas} text deltas`);
  assert.ok(text.length > 0);
  checkUsage(json.usage);
});

test('tool call round trip', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await hub.invoke({ messages, tools: [weatherTool], toolChoice: 'auto' });
  assert.equal(first.toolCalls?.length, 1, JSON.stringify(first));
  const [call] = first.toolCalls;
  assert.equal(call.type, 'function');
  assert.ok(call.id, 'tool call id');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof call.function.arguments.city, 'string', JSON.stringify(call.function.arguments));
  checkUsage(first.usage);

  messages.push(
    { role: 'agent', toolCalls: first.toolCalls },
    { role: 'tool', toolCallId: call.id, content: JSON.stringify({ temperature: 21 }) },
  );
  const second = await hub.invoke({ messages, tools: [weatherTool] });
  assert.ok(!second.toolCalls?.length, JSON.stringify(second));
  assert.ok(second.text.length > 0, JSON.stringify(second));
});

test('tool call, streamed', async () => {
  const stream = await hub.invoke(
    { messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weatherTool] },
    { streaming: true },
  );
  const json = {};
  for await (const chunk of stream) {
    if (chunk.delta?.json) Object.assign(json, chunk.delta.json);
  }
  assert.equal(json.toolCalls?.length, 1, JSON.stringify(json));
  assert.equal(json.toolCalls[0].function.name, 'get_weather');
  assert.equal(typeof json.toolCalls[0].function.arguments.city, 'string', JSON.stringify(json.toolCalls));
});

test('configured from the environment alone', async () => {
  // AIGNE_HUB_API_URL is set above; the key comes from AIGNE_HUB_API_KEY.
  process.env.AIGNE_HUB_API_KEY = hubKey;
  try {
    const out = await new AIGNEHubChatModel({ model }).invoke({ messages: [{ role: 'user', content: 'Hi' }] });
    assert.ok(out.text.length > 0, JSON.stringify(out));
  } finally {
    delete process.env.AIGNE_HUB_API_KEY;
  }
});

test('a bad key is an error the client reads', async () => {
  for (const apiKey of [badKey, revokedKey]) {
    const bad = new AIGNEHubChatModel({ baseURL: hubURL, apiKey, model });
    await bad.credential; // discovery needs no key
    for (const streaming of [false, true]) {
      await assert.rejects(
        async () => {
          const res = await bad.invoke({ messages: [{ role: 'user', content: 'Hi' }] }, { streaming });
          if (streaming) for await (const _ of res);
        },
        (err) => {
          assert.ok(err instanceof Error, String(err));
          // BaseClient throws the body's error.message; a body it cannot
          // read becomes "Failed to fetch url … with status …".
          assert.doesNotMatch(err.message, /Failed to fetch|Fetch http/, err.message);
          assert.ok(err.message.length > 0);
          assert.ok(err.type, `error type copied from the body: ${err.message}`);
          return true;
        },
      );
    }
  }
});

test('models', async () => {
  const models = await AIGNEHubChatModel.models(); // validated by the client's schema
  assert.ok(models.length > 0);
  const m = models.find((m) => m.provider === 'openai' && (m.model === chatModel || m.model === model));
  assert.ok(m, JSON.stringify(models));
  assert.ok(!Number.isNaN(Number(m.input_credits_per_token)), JSON.stringify(m));
  assert.ok(!Number.isNaN(Number(m.output_credits_per_token)), JSON.stringify(m));
});
