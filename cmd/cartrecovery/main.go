// Command cartrecovery is the cart abandonment recovery worker: it receives
// platform webhooks, schedules reminders and sends them by email and SMS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cartrecovery:", err)
		os.Exit(exitCode(err))
	}
}
