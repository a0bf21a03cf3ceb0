package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/aignehub/hub/host/manage"
)

const accountsUsage = `usage:
  hub accounts list
  hub accounts create NAME
  hub accounts rename ID NAME
An account owns API keys (hub keys create --account NAME creates it if missing)
and credits (hub credits); a new account gets [billing] new_account_grant.
` + reachNote

var accountsGroup = group{
	name:  "accounts",
	usage: accountsUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"list":   accountsList,
		"create": accountsCreate,
		"rename": accountsRename,
	},
}

func accountTable(w io.Writer, as ...manage.AccountView) {
	fmt.Fprintln(w, "ID\tNAME\tKEYS\tBALANCE\tCREATED")
	for _, a := range as {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\n", a.ID, a.Name, a.Keys, a.BalanceCredits, fmtTime(a.CreatedAt))
	}
}

func accountsList(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, nil, func(ctx context.Context, env *adminEnv, _ []string) error {
		as, err := env.svc.ListAccounts(ctx)
		if err != nil {
			return err
		}
		return c.output(as, func(w io.Writer) { accountTable(w, as...) })
	})
}

func accountsCreate(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"NAME"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		a, err := env.svc.CreateAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.say(a, "created account %q (id %d), balance %s credits\n", a.Name, a.ID, a.BalanceCredits)
	})
}

func accountsRename(ctx context.Context, c *subcmd, args []string) error {
	pos, err := c.parse(args, "ID", "NAME")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return c.usageErr("ID %q is not a number", pos[0])
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		a, err := env.svc.RenameAccount(ctx, id, pos[1])
		if err != nil {
			return err
		}
		return c.say(a, "renamed account %d to %q\n", a.ID, a.Name)
	})
}
