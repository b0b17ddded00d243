package config

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls changed (from one goroutine) whenever the configuration file
// or a file in the templates folder is written, created, renamed or
// removed, until ctx ends. Changes within settle of each other are one call
// (an editor's save is several events). It watches the file's folder, not
// the file, so that an editor's save-by-rename and a ConfigMap's symlink
// swap are seen. An empty configPath watches the templates alone.
func Watch(ctx context.Context, configPath, templatesDir string, settle time.Duration, log *slog.Logger, changed func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	var file string
	dirs := map[string]bool{}
	if configPath != "" {
		abs, err := filepath.Abs(configPath)
		if err != nil {
			w.Close()
			return err
		}
		file = abs
		dirs[filepath.Dir(abs)] = true
	}
	tdir, err := filepath.Abs(templatesDir)
	if err != nil {
		w.Close()
		return err
	}
	dirs[tdir] = true
	for d := range dirs {
		if err := w.Add(d); err != nil {
			w.Close()
			return err
		}
	}
	go func() {
		defer w.Close()
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				name, _ := filepath.Abs(ev.Name)
				if name != file && !(filepath.Dir(name) == tdir && isTemplate(name)) && !(file != "" && isConfigMapSwap(name, file)) {
					continue
				}
				fire = time.After(settle)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("watching the configuration", "err", err)
			case <-fire:
				fire = nil
				changed()
			}
		}
	}()
	return nil
}

// isConfigMapSwap reports whether name is Kubernetes' ..data link beside
// the file (a mounted ConfigMap changes by swapping it).
func isConfigMapSwap(name, file string) bool {
	if filepath.Dir(name) != filepath.Dir(file) || filepath.Base(name) != "..data" {
		return false
	}
	_, err := os.Stat(file)
	return err == nil
}

// isTemplate reports whether a file of the templates folder is one the
// renderer reads (*.tmpl), not an editor's swap or backup file.
func isTemplate(name string) bool {
	base := filepath.Base(name)
	return filepath.Ext(base) == ".tmpl" && !strings.HasPrefix(base, ".")
}
