package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/report"
)

func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := flags("report", stderr)
	since := fs.String("since", "", "last N days (30d) or hours (48h); default 30d")
	from := fs.String("from", "", "first UTC day, YYYY-MM-DD")
	to := fs.String("to", "", "last UTC day, YYYY-MM-DD (default today)")
	by := fs.String("by", "step", strings.Join(report.Dimensions, " | "))
	store := fs.String("store", "", "only this store")
	format := fs.String("format", "table", "table | csv | json")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if !slices.Contains([]string{"table", "csv", "json"}, *format) {
		return usageError{fmt.Errorf("--format: %q is not one of table, csv, json", *format)}
	}
	if !slices.Contains(report.Dimensions, *by) {
		return usageError{fmt.Errorf("--by: %q is not one of %s", *by, strings.Join(report.Dimensions, ", "))}
	}
	f, t, err := report.ParseRange(*since, *from, *to, time.Now())
	if err != nil {
		return usageError{fmt.Errorf("--%w", err)}
	}
	cfg, src, _, err := load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config %s is invalid:\n%w", src, err)
	}
	if cfg.Redis.URL == "" {
		return errors.New("redis.url is empty: the embedded Redis of a running `serve` is not reachable from another process; set redis.url")
	}
	conn, err := redis.Open(ctx, cfg.Redis.Mode, cfg.Redis.URL, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer conn.Close()
	pbs := cfg.Playbooks()
	pbList := []recovery.Playbook{pbs[""]}
	for _, id := range cfg.StoreIDs() {
		if pb, ok := pbs[id]; ok {
			pbList = append(pbList, pb)
		}
	}
	names, segments := report.Names(pbList...)
	st := redis.NewStore(conn.Client, redis.Options{Prefix: cfg.Redis.Prefix})
	stores, err := st.Stores(ctx)
	if err != nil {
		return err
	}
	counters, err := st.Counters(ctx, stores, report.Days(f, t))
	if err != nil {
		return err
	}
	q := report.Query{From: f, To: t, By: *by, Steps: names, Segments: segments}
	if *store != "" {
		q.Stores = []string{*store}
	}
	rep, err := report.Build(counters, q)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	case "csv":
		return report.WriteCSV(stdout, rep)
	}
	return report.WriteTable(stdout, rep)
}
