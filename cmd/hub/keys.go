package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/store"
)

const keysUsage = `usage:
  hub keys create --name NAME [--role user|admin] [--account NAME] [--expires DURATION]
  hub keys list
  hub keys revoke ID|PREFIX|NAME
All take -config FILE (default hub.toml) to find the data dir.`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, keysUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := newFlags("keys "+sub, stderr)
	cfgPath := configFlag(fs)
	var name, role, account string
	var expires time.Duration
	if sub == "create" {
		fs.StringVar(&name, "name", "", "key `name` (required)")
		fs.StringVar(&role, "role", "user", "`role`: user or admin")
		fs.StringVar(&account, "account", "default", "`account` the key belongs to (created if missing)")
		fs.DurationVar(&expires, "expires", 0, "expire after this `duration` (e.g. 720h); 0 never expires")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "create":
		if name == "" {
			return errors.New("--name is required")
		}
		if role != "user" && role != "admin" {
			return fmt.Errorf("--role must be user or admin, not %q", role)
		}
		acct, err := st.EnsureAccount(ctx, account)
		if err != nil {
			return err
		}
		key, hash, prefix := auth.Generate()
		k := store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: name, Role: role}
		if expires > 0 {
			k.ExpiresAt = time.Now().Add(expires)
		}
		k, err = st.CreateAPIKey(ctx, k)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s key %q (id %d, account %s); it is shown only once:\n", k.Role, k.Name, k.ID, acct.Name)
		fmt.Fprintln(stdout, key)
		return nil
	case "list":
		keys, err := st.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tROLE\tACCOUNT\tCREATED\tEXPIRES\tSTATUS")
		for _, k := range keys {
			status := "active"
			switch {
			case !k.RevokedAt.IsZero():
				status = "revoked " + k.RevokedAt.Format(time.DateTime)
			case !k.ExpiresAt.IsZero() && time.Now().After(k.ExpiresAt):
				status = "expired"
			}
			fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%d\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.Role, k.AccountID,
				k.CreatedAt.Format(time.DateTime), fmtTime(k.ExpiresAt), status)
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			fmt.Fprintln(stderr, keysUsage)
			return errUsage
		}
		arg := pos[0]
		var k store.APIKey
		if id, perr := strconv.ParseInt(arg, 10, 64); perr == nil {
			err = st.RevokeAPIKey(ctx, id)
			k.ID = id
		} else if k, err = st.APIKeyByPrefixOrName(ctx, arg); err == nil {
			err = st.RevokeAPIKey(ctx, k.ID)
		}
		if err != nil {
			return fmt.Errorf("revoke %s: %w", arg, err)
		}
		fmt.Fprintf(stdout, "revoked key %d\n", k.ID)
		return nil
	}
	fmt.Fprintln(stderr, keysUsage)
	return errUsage
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.DateTime)
}
