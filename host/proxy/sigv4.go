package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigv4Signer is stateless and safe for concurrent use; it caches derived
// signing keys (per access key, date, region and service).
var sigv4Signer = v4.NewSigner()

// errSigV4Credential is the error for a credential that is not an AWS key
// pair. It never quotes the credential.
var errSigV4Credential = errors.New("sigv4: the credential must be ACCESS_KEY_ID:SECRET_ACCESS_KEY or ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN")

// SignV4 signs an upstream request with AWS Signature Version 4 (the
// provider's "sigv4:<service>" auth scheme) at time now, for region and the
// signing service (e.g. "bedrock"). body is the request body exactly as it
// will be sent: its hex SHA-256 is the signed payload hash, also sent as
// X-Amz-Content-Sha256. cred is "ACCESS_KEY_ID:SECRET_ACCESS_KEY" or
// "ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN" (split at the first two
// colons; a session token is sent as X-Amz-Security-Token and signed).
//
// SignV4 sets X-Amz-Date and Authorization, and signs every header already
// on req except those AWS ignores (User-Agent, Authorization, …), so it must
// run after all other headers are set. The path is signed in its escaped
// form (req.URL.EscapedPath()) escaped once more, as SigV4 prescribes for
// every service but S3: a plugin that path-escapes a segment (Bedrock's
// model id "…-v1:0" as "…-v1%3A0") sends it so on the wire and signs it as
// "%253A".
//
// No error, whatever the cause, contains the secret or the session token.
func SignV4(req *http.Request, body []byte, cred string, region, service string, now time.Time) error {
	creds, err := parseSigV4Credential(cred)
	if err != nil {
		return err
	}
	if region == "" {
		return errors.New("sigv4: the provider has no region")
	}
	if service == "" {
		return errors.New("sigv4: the auth scheme names no signing service")
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := sigv4Signer.SignHTTP(context.Background(), creds, req, payloadHash, service, region, now); err != nil {
		// The signer's errors concern the request, not the key; still,
		// never pass through text that could quote it.
		return errors.New("sigv4: signing failed")
	}
	return nil
}

// parseSigV4Credential splits "ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]"
// at its first two colons (a session token keeps any colon of its own).
func parseSigV4Credential(cred string) (aws.Credentials, error) {
	cred = strings.TrimSpace(cred)
	id, rest, ok := strings.Cut(cred, ":")
	if !ok || id == "" {
		return aws.Credentials{}, errSigV4Credential
	}
	secret, token, hasToken := strings.Cut(rest, ":")
	if secret == "" || hasToken && token == "" {
		return aws.Credentials{}, errSigV4Credential
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Source: "hub"}, nil
}
