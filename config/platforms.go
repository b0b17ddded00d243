package config

import (
	"log/slog"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/all"
)

// platformField is a field of Platforms: its name (the mapstructure key,
// the platform's name) and its index.
type platformField struct {
	name  string
	index int
}

// platformFields are Platforms' fields, in order.
var platformFields = func() []platformField {
	t := reflect.TypeFor[Platforms]()
	out := make([]platformField, t.NumField())
	for i := range out {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("mapstructure"), ",")
		out[i] = platformField{name: name, index: i}
	}
	return out
}()

// Each calls fn with each platform's name and settings, in the order of
// Platforms' fields.
func (p Platforms) Each(fn func(name string, c platform.Config)) {
	v := reflect.ValueOf(p)
	for _, f := range platformFields {
		fn(f.name, v.Field(f.index).Interface().(platform.Config))
	}
}

// Get is the settings of the platform name; nil for none.
func (p Platforms) Get(name string) platform.Config {
	var out platform.Config
	p.Each(func(n string, c platform.Config) {
		if n == name {
			out = c
		}
	})
	return out
}

// Secrets are the platforms' webhook secrets by name.
func (p Platforms) Secrets() map[string]string {
	out := map[string]string{}
	p.Each(func(name string, c platform.Config) { out[name] = c.WebhookSecret() })
	return out
}

// Clients are the API clients the worker asks at send time, by platform
// name: those whose credentials are set.
func (p Platforms) Clients() map[string]platform.Client {
	out := map[string]platform.Client{}
	p.Each(func(name string, c platform.Config) {
		if cl := c.Client(); cl != nil {
			out[name] = cl
		}
	})
	return out
}

// forStore is p as a store runs it (platform.Config.ForStore): own are
// the store's settings; id its id when it is listed on its own, else "".
func (p Platforms) forStore(own Platforms, id string) Platforms {
	out := p
	v, o := reflect.ValueOf(&out).Elem(), reflect.ValueOf(own)
	for _, f := range platformFields {
		c := v.Field(f.index).Interface().(platform.Config)
		v.Field(f.index).Set(reflect.ValueOf(c.ForStore(o.Field(f.index).Interface().(platform.Config), id)))
	}
	return out
}

// set reports, by platform name, whether any of the platform's settings
// is set.
func (p Platforms) set() map[string]bool {
	out := map[string]bool{}
	v := reflect.ValueOf(p)
	for _, f := range platformFields {
		out[f.name] = !v.Field(f.index).IsZero()
	}
	return out
}

// logAttrs are the platforms' settings for the log, as <name>.<key>,
// secrets masked.
func (p Platforms) logAttrs() []any {
	var out []any
	p.Each(func(name string, c platform.Config) {
		for _, a := range c.LogAttrs() {
			out = append(out, slog.Attr{Key: name + "." + a.Key, Value: a.Value})
		}
	})
	return out
}

// platformDefaults is the platforms section of the built-in
// configuration, as YAML: every platform's keys with their defaults.
func platformDefaults() string {
	section := map[string]map[string]any{}
	Platforms{}.Each(func(name string, c platform.Config) {
		d := reflect.ValueOf(c.Defaults())
		keys := map[string]any{}
		for i := range d.NumField() {
			key, _, _ := strings.Cut(d.Type().Field(i).Tag.Get("mapstructure"), ",")
			keys[key] = d.Field(i).Interface()
		}
		section[name] = keys
	})
	b, err := yaml.Marshal(map[string]any{"platforms": section})
	if err != nil {
		panic(err) // maps of strings always encode
	}
	return string(b)
}

// platforms is every platform cartrecovery takes webhooks from.
var platforms = all.Registry()
