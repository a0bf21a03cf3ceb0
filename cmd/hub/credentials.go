package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

const credentialsUsage = `usage:
  hub credentials list PROVIDER
  hub credentials add PROVIDER [--name NAME] [--weight W] [--disable]
                      (--secret-env NAME | --secret-stdin | --no-secret)
  hub credentials set PROVIDER ID|NAME [--weight W] [--enable|--disable]
                      [--secret-env NAME | --secret-stdin]
  hub credentials remove PROVIDER ID|NAME
  hub credentials test PROVIDER ID|NAME [--hub URL]
  hub credentials rotate-master-key
Secrets are write-only. --secret-env NAME stores a reference to the hub's
environment variable NAME. --secret-stdin reads a literal secret from standard
input (for example: printf %s "$KEY" | hub credentials add openai --secret-stdin),
never from a flag, and stores it encrypted under the master key: HUB_MASTER_KEY
if set, else DATA_DIR/master.key, so run it with the same environment as the hub.
test asks the running hub (--hub URL, default from the config's listen address;
admin key in $HUB_ADMIN_KEY) to call the upstream with the credential.
rotate-master-key re-encrypts every stored secret under a new master key (with
HUB_MASTER_KEY set, the new key comes from HUB_NEW_MASTER_KEY).
` + reachNote

var credentialsGroup = group{
	name:  "credentials",
	usage: credentialsUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"list":              credentialsList,
		"add":               credentialsAdd,
		"set":               credentialsSet,
		"remove":            credentialsRemove,
		"test":              credentialsTest,
		"rotate-master-key": credentialsRotate,
	},
}

func credentialTable(w io.Writer, creds []manage.CredentialView) {
	fmt.Fprintln(w, "ID\tNAME\tSOURCE\tHINT\tWEIGHT\tENABLED\tMANAGED BY\tUPDATED")
	for _, cr := range creds {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", cr.ID, cr.Name, cr.Source, orDash(cr.Hint), cr.Weight,
			yesNo(cr.Enabled), cr.ManagedBy, fmtTime(cr.UpdatedAt))
	}
}

func credentialsList(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"PROVIDER"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		creds, err := env.svc.Credentials(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.output(creds, func(w io.Writer) { credentialTable(w, creds) })
	})
}

// describeCredential says what a credential is, secret masked.
func describeCredential(cr manage.CredentialView) string {
	s := fmt.Sprintf("%s/%s (id %d, weight %d, %s", cr.Provider, cr.Name, cr.ID, cr.Weight, cr.Source)
	if cr.Hint != "" {
		s += " " + cr.Hint
	}
	if !cr.Enabled {
		s += ", disabled"
	}
	return s + ")"
}

func credentialsAdd(ctx context.Context, c *subcmd, args []string) error {
	name := c.fs.String("name", "", "the credential's `name` (default PROVIDER-N)")
	weight := c.fs.Int("weight", 1, "its share of calls, `1..1000`")
	disable := c.fs.Bool("disable", false, "add it disabled")
	sf := addSecretFlags(c.fs)
	noSecret := c.fs.Bool("no-secret", false, "add it without a secret, for upstreams that need none")
	pos, err := c.parse(args, "PROVIDER")
	if err != nil {
		return err
	}
	if *noSecret == (*sf.env != "" || *sf.stdin) {
		return c.usageErr("give one of --secret-env NAME, --secret-stdin or --no-secret")
	}
	secret, err := sf.secret(c)
	if err != nil {
		return err
	}
	spec := manage.CredentialSpec{Name: *name, Secret: secret, Weight: weight}
	if *disable {
		spec.Enabled = new(false)
	}
	return c.withEnv(ctx, *sf.stdin, func(ctx context.Context, env *adminEnv) error {
		cr, err := env.svc.AddCredential(ctx, pos[0], spec)
		if err != nil {
			return err
		}
		return c.say(cr, "added credential %s\n", describeCredential(cr))
	})
}

// credentialID resolves a credential of provider given by ID or name.
func credentialID(ctx context.Context, env *adminEnv, provider, arg string) (int64, error) {
	if id, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return id, nil
	}
	creds, err := env.svc.Credentials(ctx, provider)
	if err != nil {
		return 0, err
	}
	for _, cr := range creds {
		if cr.Name == arg {
			return cr.ID, nil
		}
	}
	return 0, fmt.Errorf("provider %s has no credential %q: %w", provider, arg, store.ErrNotFound)
}

func credentialsSet(ctx context.Context, c *subcmd, args []string) error {
	weight := c.fs.Int("weight", 0, "its share of calls, `1..1000`")
	ef := addEnableFlags(c.fs, "credential")
	sf := addSecretFlags(c.fs)
	pos, err := c.parse(args, "PROVIDER", "ID|NAME")
	if err != nil {
		return err
	}
	spec := manage.CredentialSpec{Weight: intFlag(c.given(), "weight", *weight)}
	if spec.Enabled, err = ef.value(c); err != nil {
		return err
	}
	if *sf.env == "" && !*sf.stdin && spec.Weight == nil && spec.Enabled == nil {
		return c.usageErr("nothing to change")
	}
	if spec.Secret, err = sf.secret(c); err != nil {
		return err
	}
	return c.withEnv(ctx, *sf.stdin, func(ctx context.Context, env *adminEnv) error {
		id, err := credentialID(ctx, env, pos[0], pos[1])
		if err != nil {
			return err
		}
		cr, err := env.svc.UpdateCredential(ctx, pos[0], id, spec)
		if err != nil {
			return err
		}
		return c.say(cr, "updated credential %s\n", describeCredential(cr))
	})
}

func credentialsRemove(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"PROVIDER", "ID|NAME"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		id, err := credentialID(ctx, env, pos[0], pos[1])
		if err != nil {
			return err
		}
		if err := env.svc.DeleteCredential(ctx, pos[0], id); err != nil {
			return err
		}
		return c.say(map[string]any{"removed": id, "provider": pos[0]}, "removed credential %d of %s\n", id, pos[0])
	})
}

// A checkResult is the running hub's answer to a credential test.
type checkResult struct {
	OK        bool          `json:"ok"`
	Status    int           `json:"status"`
	Method    string        `json:"method"`
	Latency   time.Duration `json:"latency_ns"`
	Error     string        `json:"error,omitempty"`
	ErrorType string        `json:"error_type,omitempty"`
}

func credentialsTest(ctx context.Context, c *subcmd, args []string) error {
	rf := addRemoteFlags(c.fs)
	pos, err := c.parse(args, "PROVIDER", "ID|NAME")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[1], 10, 64)
	if err != nil { // a name: look its ID up in the database
		err = c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) (err error) {
			id, err = credentialID(ctx, env, pos[0], pos[1])
			return err
		})
		if err != nil {
			return err
		}
	}
	client, err := rf.client(c)
	if err != nil {
		return err
	}
	raw, err := client.call(ctx, "POST", fmt.Sprintf("/api/admin/providers/%s/credentials/%d/test", url.PathEscape(pos[0]), id))
	if err != nil {
		return err
	}
	var res checkResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("the hub's answer: %w", err)
	}
	if *c.json {
		if err := writeJSON(c.stdout, raw); err != nil {
			return err
		}
	} else {
		how := res.Method
		if how != "" {
			how = " (" + how + ")"
		}
		if res.OK {
			fmt.Fprintf(c.stdout, "ok: credential %d of %s works%s: HTTP %d in %s\n", id, pos[0], how, res.Status, res.Latency.Round(time.Millisecond))
		} else {
			fmt.Fprintf(c.stdout, "failed: credential %d of %s%s: HTTP %d in %s: %s\n", id, pos[0], how, res.Status, res.Latency.Round(time.Millisecond), orDash(res.Error))
		}
	}
	if !res.OK {
		return fmt.Errorf("credential %d of %s failed its test", id, pos[0])
	}
	return nil
}

func credentialsRotate(ctx context.Context, c *subcmd, args []string) error {
	var res secrets.RotateResult
	err := c.query(ctx, args, nil, func(ctx context.Context, env *adminEnv, _ []string) (err error) {
		res, err = env.svc.RotateMasterKey(ctx, env.cfg.DataDir, os.LookupEnv)
		return err
	})
	if err != nil {
		if errors.Is(err, secrets.ErrTampered) || errors.Is(err, secrets.ErrUnknownKey) {
			return fmt.Errorf("%w (nothing was changed; fix or remove that credential, or restore its master key, and try again)", err)
		}
		return err
	}
	if *c.json {
		return writeJSON(c.stdout, map[string]any{
			"rewrapped": res.Rewrapped, "old_key_id": res.OldKeyID, "new_key_id": res.NewKeyID,
			"source": res.Source, "resumed": res.Resumed, "action": res.Action,
		})
	}
	if res.Resumed {
		fmt.Fprintln(c.stdout, "finished an interrupted rotation")
	}
	noun := "secrets"
	if res.Rewrapped == 1 {
		noun = "secret"
	}
	fmt.Fprintf(c.stdout, "re-encrypted %d credential %s under the new master key (key id %s, was %s; %s)\n",
		res.Rewrapped, noun, res.NewKeyID, res.OldKeyID, res.Source)
	if res.Action != "" {
		fmt.Fprintln(c.stdout, res.Action)
	}
	return nil
}
