package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// testKey is a fixed master key whose base64 forms use "+" and "/" (or "-"
// and "_"), so that every accepted encoding is told apart.
var testKey = bytes.Repeat([]byte{0xfb, 0xff, 0xbf, 0x3e}, KeySize/4)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

var noEnv = env()

func envKeyring(t testing.TB, raw []byte) *Keyring {
	t.Helper()
	kr, err := Load("", env(EnvMasterKey, hex.EncodeToString(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// loadDir loads the keyring of the data directory dir, creating its key file
// if there is none.
func loadDir(t testing.TB, dir string) *Keyring {
	t.Helper()
	kr, err := Load(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// assertNoLeak fails if err's message contains any of secrets.
func assertNoLeak(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret (%q)", err, Mask(s))
		}
	}
}

func keyForms(raw []byte) []string {
	return []string{
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	kr := envKeyring(t, testKey)
	for _, tc := range []struct {
		name      string
		plaintext []byte
		aad       string
	}{
		{"api key", []byte("sk-proj-0123456789abcdefghijklmnop"), AAD("openai", "default")},
		{"empty", []byte{}, AAD("openai", "empty")},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe, 0}, AAD("bedrock", "aws")},
		{"long", bytes.Repeat([]byte("x"), 1<<16), AAD("anthropic", "long")},
		{"empty aad", []byte("secret"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := kr.Seal(tc.plaintext, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(ct), len(tc.plaintext)+minSize; got != want {
				t.Errorf("len(ciphertext) = %d, want %d", got, want)
			}
			if ct[0] != 0x01 {
				t.Errorf("version byte = %#x, want 0x01", ct[0])
			}
			if id, ok := KeyIDOf(ct); !ok || id != kr.KeyID() {
				t.Errorf("KeyIDOf = %q, %v; want %q, true", id, ok, kr.KeyID())
			}
			if len(tc.plaintext) >= 8 && bytes.Contains(ct, tc.plaintext[:8]) {
				t.Error("ciphertext contains the plaintext")
			}
			pt, err := kr.Open(ct, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, tc.plaintext) || pt == nil {
				t.Errorf("Open = %q, want %q", pt, tc.plaintext)
			}
			again, err := kr.Seal(tc.plaintext, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again, ct) {
				t.Error("two seals of the same plaintext are equal: the nonce is not random")
			}
		})
	}
}

// sealFixedNonce builds a ciphertext as the package doc specifies, with
// crypto/cipher's plain GCM and a given nonce: an independent check of the
// format, and a deterministic ciphertext.
func sealFixedNonce(t testing.TB, raw, nonce, plaintext []byte, aad string) []byte {
	t.Helper()
	block, err := aes.NewCipher(raw)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append([]byte("aignehub-master-key-id"), raw...))
	header := append([]byte{0x01}, sum[:8]...)
	out := append(bytes.Clone(header), nonce...)
	return gcm.Seal(out, nonce, plaintext, append(bytes.Clone(header), aad...))
}

// TestOpenKnownAnswer pins the format: a ciphertext made once, by hand,
// must open forever.
func TestOpenKnownAnswer(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(i)
	}
	nonce := []byte("fixed-nonce!")
	aad := AAD("openai", "default")
	const secret = "sk-known-answer-0123456789"
	// Cross-checked with Python's cryptography package (AESGCM).
	const golden = "01" + "a211870246415022" + // version, key id
		"66697865642d6e6f6e636521" + // nonce
		"344b378762925bc71c8a8b9a94619b34f1dc02aa047314a87fda" + // ciphertext
		"1624a58e7824a4404d32f09057553ef5" // tag
	built := sealFixedNonce(t, raw, nonce, []byte(secret), aad)
	if got := hex.EncodeToString(built); got != golden {
		t.Errorf("built ciphertext = %s, want %s", got, golden)
	}
	kr := envKeyring(t, raw)
	ct, _ := hex.DecodeString(golden)
	if pt, err := kr.Open(ct, aad); err != nil || string(pt) != secret {
		t.Errorf("Open(golden) = %q, %v; want %q", pt, err, secret)
	}
}

func TestKeyIDIsTheSpecifiedHash(t *testing.T) {
	sum := sha256.Sum256(append([]byte("aignehub-master-key-id"), testKey...))
	want := hex.EncodeToString(sum[:8])
	if got := envKeyring(t, testKey).KeyID(); got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
	other := bytes.Clone(testKey)
	other[31] ^= 1
	if envKeyring(t, other).KeyID() == want {
		t.Error("two keys have the same id")
	}
}

// TestOpenTamperedBit flips every bit of a ciphertext in turn: it must
// never open, and the error must say why (the key id bytes select another,
// unknown key; anything else fails authentication).
func TestOpenTamperedBit(t *testing.T) {
	plaintext := "sk-ant-api03-secretsecretsecret"
	aad := AAD("anthropic", "main")
	for _, kind := range []string{"env", "file"} {
		t.Run(kind, func(t *testing.T) {
			kr := envKeyring(t, testKey)
			if kind == "file" {
				var err error
				if kr, err = Load(t.TempDir(), noEnv); err != nil {
					t.Fatal(err)
				}
			}
			ct, err := kr.Seal([]byte(plaintext), aad)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ct {
				region := "ciphertext"
				switch {
				case i == 0:
					region = "version"
				case i < headerSize:
					region = "key id"
				case i < headerSize+nonceSize:
					region = "nonce"
				case i >= len(ct)-tagSize:
					region = "tag"
				}
				for bit := range 8 {
					bad := bytes.Clone(ct)
					bad[i] ^= 1 << bit
					pt, err := kr.Open(bad, aad)
					want := ErrTampered
					if region == "key id" {
						want = ErrUnknownKey
					}
					if pt != nil || !errors.Is(err, want) {
						t.Fatalf("byte %d (%s) bit %d: Open = %q, %v; want nil, %v", i, region, bit, pt, err, want)
					}
					assertNoLeak(t, err, plaintext, hex.EncodeToString(bad[headerSize:]))
				}
			}
		})
	}
}

func TestOpenWrongAAD(t *testing.T) {
	kr := envKeyring(t, testKey)
	ct, err := kr.Seal([]byte("sk-secret-value-123456"), AAD("openai", "a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range []string{
		AAD("openai", "b"),
		AAD("azure", "a"),
		AAD("openai", "a "),
		AAD("openai", ""),
		"",
		"aignehub/credential/v1\x00openai\x00a\x00",
	} {
		if pt, err := kr.Open(ct, aad); pt != nil || !errors.Is(err, ErrTampered) {
			t.Errorf("Open with aad %q = %q, %v; want ErrTampered", aad, pt, err)
		}
	}
}

func TestOpenTruncatedOrExtended(t *testing.T) {
	kr := envKeyring(t, testKey)
	aad := AAD("p", "c")
	ct, err := kr.Seal([]byte("a secret of some length"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(ct) {
		if pt, err := kr.Open(ct[:n], aad); pt != nil || !errors.Is(err, ErrTampered) {
			t.Fatalf("Open(first %d of %d bytes) = %q, %v; want ErrTampered", n, len(ct), pt, err)
		}
	}
	for _, extra := range [][]byte{{0}, {0xff}, ct[:5]} {
		long := append(bytes.Clone(ct), extra...)
		if pt, err := kr.Open(long, aad); pt != nil || !errors.Is(err, ErrTampered) {
			t.Errorf("Open(ciphertext + %d bytes) = %q, %v; want ErrTampered", len(extra), pt, err)
		}
	}
	if pt, err := kr.Open(nil, aad); pt != nil || !errors.Is(err, ErrTampered) {
		t.Errorf("Open(nil) = %q, %v; want ErrTampered", pt, err)
	}
}

func TestOpenUnknownKey(t *testing.T) {
	a, b := envKeyring(t, testKey), envKeyring(t, bytes.Repeat([]byte{7}, KeySize))
	ct, err := a.Seal([]byte("secret"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Open(ct, "x"); pt != nil || !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open under another key = %q, %v; want ErrUnknownKey", pt, err)
	}
}

func TestKeyIDOf(t *testing.T) {
	kr := envKeyring(t, testKey)
	ct, _ := kr.Seal([]byte("s"), "")
	for _, tc := range []struct {
		name string
		in   []byte
		id   string
		ok   bool
	}{
		{"sealed", ct, kr.KeyID(), true},
		{"header only", ct[:headerSize], kr.KeyID(), true},
		{"short", ct[:headerSize-1], "", false},
		{"empty", nil, "", false},
		{"version 2", append([]byte{2}, ct[1:]...), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, ok := KeyIDOf(tc.in); id != tc.id || ok != tc.ok {
				t.Errorf("KeyIDOf = %q, %v; want %q, %v", id, ok, tc.id, tc.ok)
			}
		})
	}
}

func TestAAD(t *testing.T) {
	if got, want := AAD("openai", "team-a"), "aignehub/credential/v1\x00openai\x00team-a"; got != want {
		t.Errorf("AAD = %q, want %q", got, want)
	}
	if AAD("ab", "c") == AAD("a", "bc") {
		t.Error("AAD does not separate provider from credential")
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "****"},
		{"abc", "****"},
		{"sk-12345678", "****"},      // 11 characters
		{"sk-123456789", "****6789"}, // 12
		{"sk-proj-abcdefghijklmnopqrstuvwxyz", "****wxyz"},
		{"ééééééééééé€abc", "****€abc"}, // runes, not bytes
		{"éééééééééé€", "****"},         // 11 runes, more bytes
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGenerateKeyHex(t *testing.T) {
	a, b := GenerateKeyHex(), GenerateKeyHex()
	if len(a) != 64 || a == b {
		t.Fatalf("GenerateKeyHex = %q, %q", a, b)
	}
	if _, err := Load("", env(EnvMasterKey, a)); err != nil {
		t.Errorf("Load of a generated key: %v", err)
	}
}

func TestLoadEnvFormats(t *testing.T) {
	want := envKeyring(t, testKey).KeyID()
	dir := t.TempDir()
	for _, form := range append(keyForms(testKey), "  "+hex.EncodeToString(testKey)+"\n") {
		t.Run(form, func(t *testing.T) {
			kr, err := Load(dir, env(EnvMasterKey, form))
			if err != nil {
				t.Fatal(err)
			}
			if kr.KeyID() != want {
				t.Errorf("KeyID = %s, want %s", kr.KeyID(), want)
			}
			if kr.Source() != "env:HUB_MASTER_KEY" {
				t.Errorf("Source = %q", kr.Source())
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an environment key wrote %d files to the data directory", len(entries))
	}
}

func TestLoadEnvRefusesBadKeys(t *testing.T) {
	h := hex.EncodeToString(testKey)
	for _, bad := range []string{
		"",
		"   ",
		h[:62],
		h + "00",
		h[:63] + "g",
		"0x" + h[:62],
		base64.StdEncoding.EncodeToString(testKey[:16]),
		base64.StdEncoding.EncodeToString(append(bytes.Clone(testKey), 1)),
		base64.StdEncoding.EncodeToString(testKey)[:40],
		"correct horse battery staple, not a key",
	} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			dir := t.TempDir()
			kr, err := Load(dir, env(EnvMasterKey, bad))
			if err == nil {
				t.Fatalf("Load accepted %q (key id %s)", bad, kr.KeyID())
			}
			if !strings.Contains(err.Error(), EnvMasterKey) {
				t.Errorf("error %q does not name %s", err, EnvMasterKey)
			}
			if strings.TrimSpace(bad) != "" {
				assertNoLeak(t, err, strings.TrimSpace(bad))
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Error("a bad environment key fell back to the key file")
			}
		})
	}
}

func keyFileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// assertFiles checks the data directory holds exactly names.
func assertFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("data directory holds %q, want %q", got, names)
	}
}

func TestLoadCreatesKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	kr := loadDir(t, dir)
	path := filepath.Join(dir, KeyFile)
	if kr.Source() != path {
		t.Errorf("Source = %q, want %q", kr.Source(), path)
	}
	if runtime.GOOS != "windows" {
		if m := keyFileMode(t, path); m != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", m)
		}
	}
	assertFiles(t, dir, KeyFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSuffix(string(data), "\n"))
	if err != nil || len(raw) != KeySize {
		t.Fatalf("key file is not 64 hex characters and a newline (%d bytes)", len(data))
	}
	if want := envKeyring(t, raw).KeyID(); kr.KeyID() != want {
		t.Errorf("KeyID = %s, want the file's key %s", kr.KeyID(), want)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", kr, kr, kr, kr); strings.Contains(s, string(data[:16])) ||
		strings.Contains(s, base64.RawStdEncoding.EncodeToString(raw)[:16]) || !strings.Contains(s, kr.KeyID()) {
		t.Errorf("formatted keyring = %s", s)
	}

	again := loadDir(t, dir)
	if again.KeyID() != kr.KeyID() {
		t.Errorf("second Load has key %s, want the same key %s", again.KeyID(), kr.KeyID())
	}
	ct, _ := kr.Seal([]byte("secret"), "a")
	if pt, err := again.Open(ct, "a"); err != nil || string(pt) != "secret" {
		t.Errorf("Open with the reloaded key = %q, %v", pt, err)
	}
}

// TestLoadConcurrentCreate starts several "processes" on a fresh data
// directory at once: they must all end up with the one key on disk.
func TestLoadConcurrentCreate(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			kr, err := Load(dir, noEnv)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = kr.KeyID()
		})
	}
	wg.Wait()
	final := loadDir(t, dir)
	for i, id := range ids {
		if id != final.KeyID() {
			t.Errorf("Load %d got key %s, but the file holds %s", i, id, final.KeyID())
		}
	}
	assertFiles(t, dir, KeyFile)
}

func TestLoadRefusesLooseKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits on Windows")
	}
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Load(dir, noEnv); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, KeyFile)
			data, _ := os.ReadFile(path)
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir, noEnv)
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Fatalf("Load of a %04o key file: %v; want an error telling to chmod 600", mode, err)
			}
			assertNoLeak(t, err, strings.TrimSpace(string(data)))
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Error("the key file was changed")
			}
		})
	}
}

func TestLoadRefusesBadKeyFile(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"short", "abcd\n"},
		{"text", "this is not a key at all, but it is long enough to look like one\n"},
		{"huge", strings.Repeat("a", 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFile)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir, noEnv)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load = %v; want an error naming %s", err, path)
			}
			if len(tc.content) > 8 {
				assertNoLeak(t, err, strings.TrimSpace(tc.content)[:8])
			}
			if got, _ := os.ReadFile(path); string(got) != tc.content {
				t.Error("a bad key file was overwritten")
			}
		})
	}
}

func TestLoadRefusesNextWithoutKey(t *testing.T) {
	dir := t.TempDir()
	next := filepath.Join(dir, KeyFile+".next")
	if err := os.WriteFile(next, []byte(GenerateKeyHex()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, noEnv); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("Load = %v; want a refusal to create a new key", err)
	}
	assertFiles(t, dir, KeyFile+".next")
}

func TestSealFailsWhenKeyFileBreaks(t *testing.T) {
	dir := t.TempDir()
	kr := loadDir(t, dir)
	ct, _ := kr.Seal([]byte("secret"), "a")
	path := filepath.Join(dir, KeyFile)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Seal([]byte("another"), "b"); err == nil {
		t.Error("Seal under a key that is no longer on disk succeeded")
	}
	if pt, err := kr.Open(ct, "a"); err != nil || string(pt) != "secret" {
		t.Errorf("Open with a known key after the file went = %q, %v", pt, err)
	}
}

func TestFileKeyringOpensEnvSealed(t *testing.T) {
	// The same key from the file and from the environment is one key.
	dir := t.TempDir()
	kr := loadDir(t, dir)
	data, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	fromEnv, err := Load(dir, env(EnvMasterKey, string(data)))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := fromEnv.Seal([]byte("s3cret"), "x")
	if pt, err := kr.Open(ct, "x"); err != nil || string(pt) != "s3cret" {
		t.Errorf("Open = %q, %v", pt, err)
	}
}

// TestHammer seals and opens from many goroutines while other "processes"
// rotate the key file and a stranger's ciphertexts force re-reads.
func TestHammer(t *testing.T) {
	dir := t.TempDir()
	kr := loadDir(t, dir)
	stranger, _ := envKeyring(t, bytes.Repeat([]byte{9}, KeySize)).Seal([]byte("x"), "x")
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range iterations {
				aad := AAD("p", fmt.Sprint(g))
				secret := []byte(fmt.Sprintf("secret-%d-%d", g, i))
				ct, err := kr.Seal(secret, aad)
				if err != nil {
					t.Error(err)
					return
				}
				pt, err := kr.Open(ct, aad)
				if err != nil || !bytes.Equal(pt, secret) {
					t.Errorf("Open = %q, %v; want %q", pt, err, secret)
					return
				}
				_ = kr.KeyID()
			}
		})
	}
	wg.Go(func() {
		for range iterations / 20 {
			if _, err := kr.Open(stranger, "x"); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("Open of a stranger's ciphertext: %v", err)
			}
		}
	})
	wg.Go(func() {
		for range 3 {
			if _, err := Rotate(dir, noEnv, func(func([]byte, string) ([]byte, error)) (int, error) { return 0, nil }); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	final := loadDir(t, dir)
	ct, err := kr.Seal([]byte("last"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(ct); id != final.KeyID() || kr.KeyID() != id {
		t.Errorf("keyring sealed under %s (KeyID %s), the file holds %s", id, kr.KeyID(), final.KeyID())
	}
}

func BenchmarkSeal(b *testing.B) {
	kr := envKeyring(b, testKey)
	secret := []byte("sk-proj-0123456789abcdefghijklmnopqrstuvwxyz")
	aad := AAD("openai", "default")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Seal(secret, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := envKeyring(b, testKey)
	aad := AAD("openai", "default")
	ct, _ := kr.Seal([]byte("sk-proj-0123456789abcdefghijklmnopqrstuvwxyz"), aad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(ct, aad); err != nil {
			b.Fatal(err)
		}
	}
}
