package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

const keysUsage = `usage:
  hub keys create --name NAME [--role user|admin] [--account NAME] [--expires DURATION]
                  [--rpm N] [--tpm N] [--concurrency N] [--allow MODEL]...
  hub keys list [--account NAME]
  hub keys show ID|PREFIX|NAME
  hub keys set ID|PREFIX|NAME [--name NAME] [--role user|admin] [--rpm N] [--tpm N]
                  [--concurrency N] [--allow MODEL]... [--clear-allow] [--expires DURATION|never]
  hub keys revoke ID|PREFIX|NAME
The key is printed once, by create; the database keeps only its hash. --rpm,
--tpm and --concurrency limit requests per minute, tokens per minute and calls
in flight (0: unlimited). --allow restricts the key to models: provider/model,
a bare model name, an alias, or a glob like anthropic/*; in set, the list
replaces the stored one and --clear-allow allows every model again.
--account is created if missing (default "default").
` + reachNote

var keysGroup = group{
	name:  "keys",
	usage: keysUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"create": keysCreate,
		"list":   keysList,
		"show":   keysShow,
		"set":    keysSet,
		"revoke": keysRevoke,
	},
}

// keyFlags are the limit flags of create and set.
type keyFlags struct {
	name, role, expires *string
	rpm, tpm, conc      *int
	allow               stringList
}

func addKeyFlags(c *subcmd) *keyFlags {
	f := &keyFlags{
		name:    c.fs.String("name", "", "the key's `name`"),
		role:    c.fs.String("role", "", "`role`: user (call models) or admin (use the admin API too)"),
		expires: c.fs.String("expires", "", "expire after this `duration` (e.g. 720h); never or 0: no expiry"),
		rpm:     c.fs.Int("rpm", 0, "requests per minute, `N` (0: unlimited)"),
		tpm:     c.fs.Int("tpm", 0, "tokens per minute, `N` (0: unlimited)"),
		conc:    c.fs.Int("concurrency", 0, "calls in flight, `N` (0: unlimited)"),
	}
	c.fs.Var(&f.allow, "allow", "allow this `model` or pattern only (repeatable)")
	return f
}

func (f *keyFlags) spec(c *subcmd) manage.KeySpec {
	given := c.given()
	spec := manage.KeySpec{
		Name:           *f.name,
		Role:           *f.role,
		ExpiresIn:      *f.expires,
		RPM:            intFlag(given, "rpm", *f.rpm),
		TPM:            intFlag(given, "tpm", *f.tpm),
		MaxConcurrency: intFlag(given, "concurrency", *f.conc),
	}
	if len(f.allow) > 0 {
		ms := []string(f.allow)
		spec.AllowedModels = &ms
	}
	return spec
}

// A createdKey is create's JSON output: the key, once, and its view.
type createdKey struct {
	Key string `json:"key"`
	manage.KeyView
}

func keysCreate(ctx context.Context, c *subcmd, args []string) error {
	f := addKeyFlags(c)
	account := c.fs.String("account", manage.DefaultAccount, "the `account` the key belongs to (created if missing)")
	if _, err := c.parse(args); err != nil {
		return err
	}
	spec := f.spec(c)
	if spec.Name == "" {
		return c.usageErr("--name is required")
	}
	spec.Account = *account
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		key, k, err := env.svc.CreateKey(ctx, spec)
		if err != nil {
			return err
		}
		return c.say(createdKey{Key: key, KeyView: k}, "created %s key %q (id %d, account %s); it is shown only once:\n%s\n",
			k.Role, k.Name, k.ID, k.Account, key)
	})
}

// accountID returns the ID of the account called name.
func accountID(ctx context.Context, env *adminEnv, name string) (int64, error) {
	as, err := env.svc.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	for _, a := range as {
		if a.Name == name {
			return a.ID, nil
		}
	}
	return 0, fmt.Errorf("account %q: %w", name, store.ErrNotFound)
}

func keysList(ctx context.Context, c *subcmd, args []string) error {
	account := c.fs.String("account", "", "list only the keys of this `account`")
	return c.query(ctx, args, nil, func(ctx context.Context, env *adminEnv, _ []string) error {
		var id int64
		if *account != "" {
			var err error
			if id, err = accountID(ctx, env, *account); err != nil {
				return err
			}
		}
		keys, err := env.svc.ListKeys(ctx, id)
		if err != nil {
			return err
		}
		return c.output(keys, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tPREFIX\tNAME\tROLE\tACCOUNT\tMODELS\tRPM\tTPM\tCONCURRENCY\tCREATED\tEXPIRES\tSTATUS")
			for _, k := range keys {
				fmt.Fprintf(w, "%d\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.Role, k.Account,
					allowed(k.AllowedModels), limit(k.RPM), limit(k.TPM), limit(k.MaxConcurrency),
					fmtTime(k.CreatedAt), fmtTimePtr(k.ExpiresAt), status(k))
			}
		})
	})
}

// allowed shows a key's allow-list, empty meaning every model.
func allowed(ms []string) string {
	if len(ms) == 0 {
		return "*"
	}
	return strings.Join(ms, ",")
}

func status(k manage.KeyView) string {
	if k.Status == manage.KeyRevoked && k.RevokedAt != nil {
		return k.Status + " " + fmtTime(*k.RevokedAt)
	}
	return k.Status
}

func showKey(w io.Writer, k manage.KeyView) {
	fmt.Fprintf(w, "id:\t%d\n", k.ID)
	fmt.Fprintf(w, "prefix:\t%s…\n", k.Prefix)
	fmt.Fprintf(w, "name:\t%s\n", k.Name)
	fmt.Fprintf(w, "role:\t%s\n", k.Role)
	fmt.Fprintf(w, "account:\t%s (id %d)\n", k.Account, k.AccountID)
	fmt.Fprintf(w, "models:\t%s\n", allowed(k.AllowedModels))
	fmt.Fprintf(w, "rpm:\t%s\n", limit(k.RPM))
	fmt.Fprintf(w, "tpm:\t%s\n", limit(k.TPM))
	fmt.Fprintf(w, "concurrency:\t%s\n", limit(k.MaxConcurrency))
	fmt.Fprintf(w, "created:\t%s\n", fmtTime(k.CreatedAt))
	fmt.Fprintf(w, "expires:\t%s\n", fmtTimePtr(k.ExpiresAt))
	fmt.Fprintf(w, "last used:\t%s\n", fmtTimePtr(k.LastUsedAt))
	fmt.Fprintf(w, "status:\t%s\n", status(k))
}

// keyID resolves a key given by ID, display prefix or name.
func keyID(ctx context.Context, env *adminEnv, arg string) (int64, error) {
	if id, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return id, nil
	}
	k, err := env.st.APIKeyByPrefixOrName(ctx, arg)
	if errors.Is(err, store.ErrAmbiguous) {
		return 0, fmt.Errorf("%w: give its ID (hub keys list)", err)
	}
	return k.ID, err
}

// showKey outputs k unless err.
func (c *subcmd) showKey(k manage.KeyView, err error) error {
	if err != nil {
		return err
	}
	return c.output(k, func(w io.Writer) { showKey(w, k) })
}

func keysShow(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"ID|PREFIX|NAME"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		id, err := keyID(ctx, env, pos[0])
		if err != nil {
			return err
		}
		return c.showKey(env.svc.Key(ctx, id))
	})
}

func keysSet(ctx context.Context, c *subcmd, args []string) error {
	f := addKeyFlags(c)
	clearAllow := c.fs.Bool("clear-allow", false, "allow every model again")
	pos, err := c.parse(args, "ID|PREFIX|NAME")
	if err != nil {
		return err
	}
	spec := f.spec(c)
	if *clearAllow {
		if spec.AllowedModels != nil {
			return c.usageErr("give --allow or --clear-allow, not both")
		}
		spec.AllowedModels = &[]string{}
	}
	if spec == (manage.KeySpec{}) {
		return c.usageErr("nothing to change")
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		id, err := keyID(ctx, env, pos[0])
		if err != nil {
			return err
		}
		return c.showKey(env.svc.UpdateKey(ctx, id, spec))
	})
}

func keysRevoke(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"ID|PREFIX|NAME"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		id, err := keyID(ctx, env, pos[0])
		if err == nil {
			err = env.svc.RevokeKey(ctx, id)
		}
		if err != nil {
			return fmt.Errorf("revoke %s: %w", pos[0], err)
		}
		return c.say(map[string]any{"revoked": id}, "revoked key %d\n", id)
	})
}
