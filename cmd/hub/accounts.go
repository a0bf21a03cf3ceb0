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

func runAccounts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return accountsGroup.run(ctx, args, stdout, stderr)
}

func accountTable(w io.Writer, as ...manage.AccountView) {
	fmt.Fprintln(w, "ID\tNAME\tKEYS\tBALANCE\tCREATED")
	for _, a := range as {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\n", a.ID, a.Name, a.Keys, a.BalanceCredits, fmtTime(a.CreatedAt))
	}
}

func accountsList(ctx context.Context, c *subcmd, args []string) error {
	if _, err := c.parse(args); err != nil {
		return err
	}
	ctx, env, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer env.Close()
	as, err := env.svc.ListAccounts(ctx)
	if err != nil {
		return err
	}
	return c.output(as, func(w io.Writer) { accountTable(w, as...) })
}

func accountsCreate(ctx context.Context, c *subcmd, args []string) error {
	pos, err := c.parse(args, "NAME")
	if err != nil {
		return err
	}
	ctx, env, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := env.svc.CreateAccount(ctx, pos[0])
	if err != nil {
		return err
	}
	if *c.json {
		return writeJSON(c.stdout, a)
	}
	fmt.Fprintf(c.stdout, "created account %q (id %d), balance %s credits\n", a.Name, a.ID, a.BalanceCredits)
	return nil
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
	ctx, env, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := env.svc.RenameAccount(ctx, id, pos[1])
	if err != nil {
		return err
	}
	if *c.json {
		return writeJSON(c.stdout, a)
	}
	fmt.Fprintf(c.stdout, "renamed account %d to %q\n", a.ID, a.Name)
	return nil
}
