package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWS Signature Version 4 verification for the Bedrock endpoints: the
// emulator re-signs the request it received with the configured secret,
// using the SDK's own signer, and compares the signatures.

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	sigV4MaxSkew    = 5 * time.Minute
	bedrockService  = "bedrock"
	unsignedPayload = "UNSIGNED-PAYLOAD"

	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken      = "The security token included in the request is invalid."
)

// sigV4Auth is a parsed SigV4 Authorization header.
type sigV4Auth struct {
	credential    string // AKID/date/region/service/aws4_request
	signedHeaders string // lower-case names joined by ';'
	signature     string // hex
}

// parseSigV4 parses "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…"; ok is false when a part is missing.
func parseSigV4(v string) (a sigV4Auth, ok bool) {
	rest, found := strings.CutPrefix(v, sigV4Algorithm+" ")
	if !found {
		return a, false
	}
	for _, f := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			a.credential = val
		case "SignedHeaders":
			a.signedHeaders = val
		case "Signature":
			a.signature = val
		}
	}
	return a, a.credential != "" && a.signedHeaders != "" && a.signature != ""
}

// verifySigV4 checks the request's SigV4 signature against
// Options.AWSAccessKeyID and AWSSecretAccessKey. The region and service
// come from the credential scope (the service must be bedrock); the
// payload hash is the body's SHA-256, which X-Amz-Content-Sha256, when
// sent, must equal (or be UNSIGNED-PAYLOAD). It returns the 403 AWS sends
// for the first failed check, or nil.
//
// The SDK signer never signs User-Agent, X-Amzn-Trace-Id, Expect or
// Transfer-Encoding, so a signature that covers one of them is refused.
func (e *Emulator) verifySigV4(x *exchange, body []byte, header string) *apiError {
	r := x.r
	deny := func(typ, msg string) *apiError { return bedrockError(x, http.StatusForbidden, typ, msg) }
	auth, ok := parseSigV4(header)
	if !ok {
		return deny("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization="+header)
	}
	scope := strings.Split(auth.credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return deny("IncompleteSignatureException", "Credential should be scoped to a valid region, not '"+auth.credential+"'. ")
	}
	akid, day, region, service := scope[0], scope[1], scope[2], scope[3]
	if akid != e.opts.AWSAccessKeyID {
		return deny("UnrecognizedClientException", msgInvalidToken)
	}
	if service != bedrockService {
		return deny("InvalidSignatureException", "Credential should be scoped to correct service: '"+bedrockService+"'. ")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return deny("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+header)
	}
	if day != amzDate[:8] {
		return deny("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+day+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	now := time.Now().UTC()
	if at.Before(now.Add(-sigV4MaxSkew)) {
		return deny("InvalidSignatureException", "Signature expired: "+amzDate+" is now earlier than "+now.Add(-sigV4MaxSkew).Format(amzDateFormat)+" ("+now.Format(amzDateFormat)+" - 5 min.)")
	}
	if at.After(now.Add(sigV4MaxSkew)) {
		return deny("InvalidSignatureException", "Signature not yet current: "+amzDate+" is still later than "+now.Add(sigV4MaxSkew).Format(amzDateFormat)+" ("+now.Format(amzDateFormat)+" + 5 min.)")
	}
	names := strings.Split(auth.signedHeaders, ";")
	hasHost := false
	for _, n := range names {
		hasHost = hasHost || n == "host"
	}
	if !hasHost {
		return deny("InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h == unsignedPayload {
			payloadHash = h
		} else if h != payloadHash {
			return deny("InvalidSignatureException", msgSignatureMismatch)
		}
	}

	// The request as the client signed it: method, escaped path, query,
	// host and only the headers it says it signed.
	u := *r.URL
	u.Host = r.Host
	signed := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, n := range names {
		switch n {
		case "host":
		case "content-length":
			signed.ContentLength = r.ContentLength
			if signed.ContentLength < 0 {
				return deny("InvalidSignatureException", msgSignatureMismatch)
			}
		default:
			if v := r.Header.Values(n); len(v) > 0 {
				signed.Header[http.CanonicalHeaderKey(n)] = v
			}
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableSessionToken = true })
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: e.opts.AWSSecretAccessKey}
	if err := signer.SignHTTP(r.Context(), creds, signed, payloadHash, service, region, at); err != nil {
		return deny("InvalidSignatureException", msgSignatureMismatch)
	}
	want, ok := parseSigV4(signed.Header.Get("Authorization"))
	if !ok || want.signedHeaders != auth.signedHeaders || !hmac.Equal([]byte(want.signature), []byte(auth.signature)) {
		return deny("InvalidSignatureException", msgSignatureMismatch)
	}
	return nil
}
