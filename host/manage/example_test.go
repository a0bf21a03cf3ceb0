package manage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// An operator adds a provider from a preset, gives it two credentials
// (one from the environment, one stored encrypted) and makes a key for an
// application. Every change is audited under the context's actor.
func Example() {
	dir, err := os.MkdirTemp("", "manage-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(context.Background(), filepath.Join(dir, "hub.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	kr, err := secrets.Load(dir, func(string) (string, bool) { return "", false })
	if err != nil {
		log.Fatal(err)
	}
	svc := manage.New(manage.Options{Store: st, Keyring: kr})
	ctx := store.WithActor(context.Background(), store.Actor{Name: "cli:ops"})

	p, err := svc.CreateProvider(ctx, manage.ProviderSpec{Name: "deepseek", Plugin: "deepseek"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name, p.Plugin, p.BaseURL, string(p.Options))

	env := "env:DEEPSEEK_API_KEY"
	literal := "sk-0123456789abcdef"
	for _, spec := range []manage.CredentialSpec{{Secret: &env}, {Secret: &literal}} {
		c, err := svc.AddCredential(ctx, "deepseek", spec)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s hint=%q\n", c.Name, c.Source, c.Hint)
	}

	_, k, err := svc.CreateKey(ctx, manage.KeySpec{Name: "app", Account: "acme", RPM: ptrInt(60)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.Account, k.Role, k.RPM, k.Status)

	audit, err := svc.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		log.Fatal(err)
	}
	for i := len(audit) - 1; i >= 0; i-- {
		fmt.Println(audit[i].Actor, audit[i].Action, audit[i].Target)
	}
	// Output:
	// deepseek openai https://api.deepseek.com {"flavor":"deepseek"}
	// deepseek-1 env:DEEPSEEK_API_KEY hint=""
	// deepseek-2 encrypted hint="****cdef"
	// acme user 60 active
	// cli:ops provider.create deepseek
	// cli:ops credential.create deepseek/deepseek-1
	// cli:ops credential.create deepseek/deepseek-2
	// cli:ops account.create account:1
	// cli:ops key.create key:1
}

func ptrInt(v int) *int { return &v }
