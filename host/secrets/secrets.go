package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Names of the key sources.
const (
	// EnvMasterKey is the environment variable holding the master key. When it
	// is set, it is the only key source: the key file is neither read nor
	// written.
	EnvMasterKey = "HUB_MASTER_KEY"
	// EnvNewMasterKey holds the new master key for a rotation of an
	// environment-supplied key (see [Rotate]).
	EnvNewMasterKey = "HUB_NEW_MASTER_KEY"
	// KeyFile is the name of the master key file in the data directory, used
	// when EnvMasterKey is unset. During a rotation the new key is written
	// next to it, as KeyFile + ".next".
	KeyFile = "master.key"
)

// KeySize is the size of a master key in bytes (AES-256).
const KeySize = 32

// Ciphertext layout: version | key id | nonce | sealed plaintext | tag.
const (
	formatV1   byte = 0x01
	idSize          = 8
	nonceSize       = 12
	tagSize         = 16
	headerSize      = 1 + idSize
	// minSize is the size of the ciphertext of an empty plaintext.
	minSize = headerSize + nonceSize + tagSize
)

const (
	keyIDLabel = "aignehub-master-key-id"
	aadPrefix  = "aignehub/credential/v1\x00"
)

// Errors returned by [Keyring.Open], wrapped; test with errors.Is. Their
// messages never contain ciphertext, plaintext or key bytes.
var (
	// ErrTampered reports a ciphertext that fails authentication: it was
	// altered, truncated, has an unknown format version, or is being opened
	// with another additional data than it was sealed with (it belongs to
	// another credential).
	ErrTampered = errors.New("secret ciphertext failed authentication (corrupt or tampered with)")
	// ErrUnknownKey reports a ciphertext sealed under a master key that the
	// keyring does not hold: the master key was replaced or lost, or a
	// rotation was not completed, or the key id bytes were altered.
	ErrUnknownKey = errors.New("secret ciphertext is sealed under a master key that is not loaded")
	// ErrRotationIncomplete is returned by [Keyring.Reconcile] when
	// credentials are sealed under both the old and the new key of an
	// interrupted rotation. Running the rotation again finishes it.
	ErrRotationIncomplete = errors.New("master key rotation is incomplete")
)

// A key is one master key, ready to seal and open. It never keeps the raw key
// bytes (the AES key schedule inside aead is unavoidable).
type key struct {
	id   [idSize]byte
	aead cipher.AEAD // AES-256-GCM with random 96-bit nonces prepended
}

// newKey prepares raw, which must be KeySize bytes. The caller may clear raw
// afterwards.
func newKey(raw []byte) (*key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	k := &key{aead: aead}
	k.id = keyID(raw)
	return k, nil
}

func keyID(raw []byte) [idSize]byte {
	h := sha256.New()
	h.Write([]byte(keyIDLabel))
	h.Write(raw)
	var id [idSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

func (k *key) idString() string { return hex.EncodeToString(k.id[:]) }

// seal encrypts plaintext under k; see the package doc for the layout.
func (k *key) seal(plaintext []byte, aad string) []byte {
	out := make([]byte, headerSize, headerSize+nonceSize+len(plaintext)+tagSize)
	out[0] = formatV1
	copy(out[1:], k.id[:])
	return k.aead.Seal(out, nil, plaintext, additionalData(out[:headerSize], aad))
}

// open decrypts a ciphertext whose header checkHeader accepted and whose key
// id is k's.
func (k *key) open(ciphertext []byte, aad string) ([]byte, error) {
	pt, err := k.aead.Open(nil, nil, ciphertext[headerSize:], additionalData(ciphertext[:headerSize], aad))
	if err != nil {
		return nil, ErrTampered
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// additionalData is what GCM authenticates besides the plaintext: the
// header (so that the version and key id cannot be altered) and the caller's
// aad (so that a ciphertext cannot be moved to another credential).
func additionalData(header []byte, aad string) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}

// checkHeader returns the key id of a ciphertext that is long enough to be
// one and has a known format version, or ErrTampered.
func checkHeader(ciphertext []byte) ([idSize]byte, error) {
	var id [idSize]byte
	if len(ciphertext) < minSize || ciphertext[0] != formatV1 {
		return id, ErrTampered
	}
	copy(id[:], ciphertext[1:headerSize])
	return id, nil
}

// KeyIDOf returns the id of the master key a ciphertext says it is sealed
// under (as [Keyring.KeyID] spells it), and false when ciphertext is too
// short to carry one or has an unknown format version. It does not
// authenticate anything: use it to find which keys are in use (for
// [Keyring.Reconcile]), never to trust a ciphertext.
func KeyIDOf(ciphertext []byte) (string, bool) {
	if len(ciphertext) < headerSize || ciphertext[0] != formatV1 {
		return "", false
	}
	return hex.EncodeToString(ciphertext[1:headerSize]), true
}

// AAD is the additional authenticated data for the secret of one credential:
// a ciphertext sealed with AAD(provider, credential) opens only with the
// same pair, so it cannot be copied to another credential or provider.
func AAD(provider, credential string) string {
	return aadPrefix + provider + "\x00" + credential
}

// Mask returns the display form of a secret: "****" followed by its last
// four characters when it has at least 12, and "****" alone otherwise, so
// that a short secret gives nothing away.
func Mask(secret string) string {
	const stars = "****"
	if utf8.RuneCountInString(secret) < 12 {
		return stars
	}
	i := len(secret)
	for n := 0; n < 4; n++ {
		_, size := utf8.DecodeLastRuneInString(secret[:i])
		i -= size
	}
	return stars + secret[i:]
}

// GenerateKeyHex returns a new random master key as 64 hex characters, a
// value for [EnvMasterKey] or [EnvNewMasterKey] (as `openssl rand -hex 32`
// makes).
func GenerateKeyHex() string {
	raw := make([]byte, KeySize)
	rand.Read(raw) // never fails (crypto/rand)
	return hex.EncodeToString(raw)
}

func generateKey() []byte {
	raw := make([]byte, KeySize)
	rand.Read(raw) // never fails (crypto/rand)
	return raw
}

// keyFormatHint is the accepted forms, for error messages.
const keyFormatHint = "want 32 bytes as 64 hex characters or as base64 (standard or URL alphabet, padded or not); generate one with `openssl rand -hex 32`"

// parseKey decodes a master key given as 64 hex characters or as base64
// (standard or URL alphabet, padded or not) of 32 bytes, ignoring
// surrounding white space. Its errors never contain s, only its length.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty; " + keyFormatHint)
	}
	if len(s) == 2*KeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.URLEncoding,
		base64.RawStdEncoding, base64.RawURLEncoding,
	} {
		if raw, err := enc.DecodeString(s); err == nil && len(raw) == KeySize {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("not a valid key (%d characters); %s", len(s), keyFormatHint)
}
