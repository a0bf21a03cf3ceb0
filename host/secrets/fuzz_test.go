package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"
)

// FuzzOpen feeds Open arbitrary bytes and arbitrary mutations of a real
// ciphertext: it must never panic, fail only with ErrTampered or
// ErrUnknownKey, and return the plaintext only for the genuine ciphertext
// and aad (anything else that opened would be a forgery).
func FuzzOpen(f *testing.F) {
	kr := envKeyring(f, testKey)
	const secret = "sk-fuzz-0123456789abcdef"
	aad := AAD("openai", "fuzz")
	// Fixed, not sealed: the fuzzing workers are other processes and must
	// agree on the genuine ciphertext.
	genuine := sealFixedNonce(f, testKey, bytes.Repeat([]byte{0x42}, nonceSize), []byte(secret), aad)
	f.Add(genuine, aad)
	f.Add(genuine[:len(genuine)-1], aad)
	f.Add(genuine, AAD("openai", "other"))
	f.Add(append(bytes.Clone(genuine), 0), aad)
	f.Add([]byte{}, "")
	f.Add([]byte{0x01}, aad)
	f.Add(genuine[:minSize], aad)
	flipped := bytes.Clone(genuine)
	flipped[headerSize+nonceSize] ^= 0x80
	f.Add(flipped, aad)
	f.Fuzz(func(t *testing.T, ct []byte, a string) {
		pt, err := kr.Open(ct, a)
		if err != nil {
			if pt != nil {
				t.Fatalf("Open returned %q with error %v", pt, err)
			}
			if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open error %v is neither ErrTampered nor ErrUnknownKey", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the secret", err)
			}
			return
		}
		if !bytes.Equal(ct, genuine) || a != aad {
			t.Fatalf("Open accepted a mutated ciphertext (%d bytes, aad %q) and returned %q", len(ct), a, pt)
		}
		if string(pt) != secret {
			t.Fatalf("Open = %q, want %q", pt, secret)
		}
	})
}

// FuzzParseKey checks that the key parser never panics, returns 32 bytes
// or an error, and never echoes its input in the error: with digits (the
// input's length) removed, every error message is one of the fixed ones.
func FuzzParseKey(f *testing.F) {
	for _, s := range keyForms(testKey) {
		f.Add(s)
	}
	f.Add("")
	f.Add(" \n")
	f.Add("zz" + GenerateKeyHex()[2:])
	f.Add("c2VjcmV0")
	stripDigits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return -1
			}
			return r
		}, s)
	}
	fixed := map[string]bool{}
	for _, s := range []string{"", "x"} {
		_, err := parseKey(s)
		fixed[stripDigits(err.Error())] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := parseKey(s)
		if err != nil {
			if raw != nil {
				t.Fatal("key and error both returned")
			}
			if !fixed[stripDigits(err.Error())] {
				t.Fatalf("error %q is not one of the fixed messages", err)
			}
			return
		}
		if len(raw) != KeySize {
			t.Fatalf("parseKey returned %d bytes", len(raw))
		}
	})
}
