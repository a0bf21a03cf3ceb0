// The hub the tests run against, as host/app/sdk_test.go (TestOfficialSDKs)
// starts it: HUB_URL is its base URL, HUB_KEY a user key, HUB_REVOKED_KEY a
// revoked one; the HUB_*_MODEL variables name the models its emulator serves.

function need(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: these tests run from host/app/sdk_test.go (go test -run TestOfficialSDKs ./host/app/)`);
  }
  return v;
}

export const hubURL = need('HUB_URL');
export const hubKey = need('HUB_KEY');
export const revokedKey = need('HUB_REVOKED_KEY');
export const chatModel = need('HUB_CHAT_MODEL');
export const embeddingModel = need('HUB_EMBEDDING_MODEL');
export const claudeModel = need('HUB_CLAUDE_MODEL');

// badKey is well formed but unknown to the hub.
export const badKey = 'sk-hub-' + 'x'.repeat(43);

// weatherSchema is the JSON schema of the tool every SDK offers.
export const weatherSchema = {
  type: 'object',
  properties: { city: { type: 'string', description: 'The city' } },
  required: ['city'],
};
