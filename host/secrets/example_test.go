package secrets_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/aignehub/hub/host/secrets"
)

func Example() {
	// The key from HUB_MASTER_KEY; without it, Load uses DATA_DIR/master.key.
	env := map[string]string{secrets.EnvMasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}
	kr, err := secrets.Load("/var/lib/hub", func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("key", kr.KeyID(), "from", kr.Source())

	secret := "sk-proj-abcdefghijklmnopqrstuvwxyz"
	ct, err := kr.Seal([]byte(secret), secrets.AAD("openai", "default"))
	if err != nil {
		log.Fatal(err)
	}
	id, _ := secrets.KeyIDOf(ct)
	fmt.Println("sealed under", id, "shown as", secrets.Mask(secret))

	pt, err := kr.Open(ct, secrets.AAD("openai", "default"))
	fmt.Println(string(pt), err)

	// The same ciphertext copied to another credential does not open.
	_, err = kr.Open(ct, secrets.AAD("openai", "other"))
	fmt.Println(errors.Is(err, secrets.ErrTampered))
	// Output:
	// key a211870246415022 from env:HUB_MASTER_KEY
	// sealed under a211870246415022 shown as ****wxyz
	// sk-proj-abcdefghijklmnopqrstuvwxyz <nil>
	// true
}

func ExampleMask() {
	fmt.Println(secrets.Mask("sk-ant-api03-abcdefgh1234"))
	fmt.Println(secrets.Mask("short-key"))
	// Output:
	// ****1234
	// ****
}
