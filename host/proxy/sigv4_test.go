package proxy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSignV4KnownAnswer signs the example of AWS's "Signature Calculations
// for the Authorization Header" (S3, GET Object with a Range header, empty
// body), whose published signature is f0e8bdb8…. S3's path needs no
// escaping, so the double escaping of other services does not change it.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
func TestSignV4KnownAnswer(t *testing.T) {
	req, err := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-9")
	now := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	if err := SignV4(req, nil, "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3", now); err != nil {
		t.Fatal(err)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization\n got %s\nwant %s", got, want)
	}
	if got := req.Header.Get("X-Amz-Content-Sha256"); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("X-Amz-Content-Sha256 = %s", got)
	}
	if got := req.Header.Get("X-Amz-Date"); got != "20130524T000000Z" {
		t.Fatalf("X-Amz-Date = %s", got)
	}
}

// TestSignV4Bedrock signs a Bedrock Converse request whose model id holds
// a ':' (path-escaped as %3A by the plugin) with a session token, and checks
// the signature against an independent computation from the SigV4
// specification (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
func TestSignV4Bedrock(t *testing.T) {
	const (
		id     = "AKIDEXAMPLE"
		secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
		token  = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="
	)
	body := []byte(`{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":256}}`)
	req, err := http.NewRequest("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "aignehub/test") // not signed
	now := time.Date(2024, 11, 5, 9, 30, 15, 0, time.FixedZone("CET", 3600))
	if err := SignV4(req, body, id+":"+secret+":"+token, "us-east-1", "bedrock", now); err != nil {
		t.Fatal(err)
	}
	if got := req.URL.EscapedPath(); got != "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse" {
		t.Fatalf("the wire path changed: %s", got)
	}
	if got := req.Header.Get("X-Amz-Security-Token"); got != token {
		t.Fatalf("X-Amz-Security-Token = %q", got)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if got := req.Header.Get("X-Amz-Content-Sha256"); got != hash {
		t.Fatalf("X-Amz-Content-Sha256 = %s, want %s", got, hash)
	}
	want := referenceAuthorization(t, referenceRequest{
		method: "POST",
		// Canonical URI: the escaped path escaped again (all services but S3).
		path: "/model/anthropic.claude-3-5-haiku-20241022-v1%253A0/converse",
		headers: map[string]string{
			"accept":               "application/json",
			"content-length":       strconv.Itoa(len(body)),
			"content-type":         "application/json",
			"host":                 "bedrock-runtime.us-east-1.amazonaws.com",
			"x-amz-content-sha256": hash,
			"x-amz-date":           "20241105T083015Z",
			"x-amz-security-token": token,
		},
		payloadHash: hash,
		id:          id, secret: secret,
		date: "20241105", region: "us-east-1", service: "bedrock",
	})
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization\n got %s\nwant %s", got, want)
	}
}

type referenceRequest struct {
	method, path, query string
	headers             map[string]string // lower-case names, trimmed values
	payloadHash         string
	id, secret          string
	date, region        string
	service             string
}

// referenceAuthorization computes a SigV4 Authorization header step by step
// from the specification, independently of the SDK.
func referenceAuthorization(t *testing.T, r referenceRequest) string {
	t.Helper()
	names := make([]string, 0, len(r.headers))
	for n := range r.headers {
		names = append(names, n)
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + r.headers[n] + "\n")
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{r.method, r.path, r.query, canon.String(), signed, r.payloadHash}, "\n")
	scope := r.date + "/" + r.region + "/" + r.service + "/aws4_request"
	h := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + r.headers["x-amz-date"] + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	mac := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+r.secret), r.date), r.region), r.service), "aws4_request")
	sig := hex.EncodeToString(mac(key, toSign))
	return "AWS4-HMAC-SHA256 Credential=" + r.id + "/" + scope + ", SignedHeaders=" + signed + ", Signature=" + sig
}

// TestSignV4ReferenceMatchesAWS: the reference computation reproduces AWS's
// published example too, so it is a fair judge of TestSignV4Bedrock.
func TestSignV4ReferenceMatchesAWS(t *testing.T) {
	got := referenceAuthorization(t, referenceRequest{
		method: "GET", path: "/test.txt",
		headers: map[string]string{
			"host":                 "examplebucket.s3.amazonaws.com",
			"range":                "bytes=0-9",
			"x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"x-amz-date":           "20130524T000000Z",
		},
		payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		id:          "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		date: "20130524", region: "us-east-1", service: "s3",
	})
	if !strings.HasSuffix(got, "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") {
		t.Fatalf("reference: %s", got)
	}
}

func TestSignV4NoSessionToken(t *testing.T) {
	req, _ := http.NewRequest("POST", "https://bedrock-runtime.eu-west-3.amazonaws.com/model/m/converse", nil)
	if err := SignV4(req, nil, "AKID:SECRET", "eu-west-3", "bedrock", time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if _, ok := req.Header["X-Amz-Security-Token"]; ok {
		t.Fatal("a security token header without a token")
	}
	auth := req.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/20231114/eu-west-3/bedrock/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=") {
		t.Fatalf("Authorization = %s", auth)
	}
	// A token with colons keeps them (split at the first two colons only).
	req, _ = http.NewRequest("POST", "https://x.amazonaws.com/", nil)
	if err := SignV4(req, nil, "AKID:SECRET:tok:en", "us-east-1", "bedrock", time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Amz-Security-Token"); got != "tok:en" {
		t.Fatalf("token = %q", got)
	}
}

func TestSignV4Errors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	for _, tc := range []struct {
		name, cred, region, service string
	}{
		{"no colon", secret, "us-east-1", "bedrock"},
		{"empty id", ":" + secret, "us-east-1", "bedrock"},
		{"empty secret", "AKID:", "us-east-1", "bedrock"},
		{"empty secret with token", "AKID::" + secret, "us-east-1", "bedrock"},
		{"empty token", "AKID:" + secret + ":", "us-east-1", "bedrock"},
		{"empty", "", "us-east-1", "bedrock"},
		{"no region", "AKID:" + secret, "", "bedrock"},
		{"no service", "AKID:" + secret + ":" + secret, "us-east-1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", nil)
			err := SignV4(req, nil, tc.cred, tc.region, tc.service, time.Now())
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "wJalr") {
				t.Fatalf("the error quotes the secret: %v", err)
			}
			if req.Header.Get("Authorization") != "" {
				t.Fatal("a request that failed to sign carries an Authorization header")
			}
		})
	}
}
