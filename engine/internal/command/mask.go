package command

import (
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// minMaskLen is the shortest secret text that is masked: shorter ones would
// blank out ordinary words.
const minMaskLen = 4

// secretMask is a safety net for logs and error messages: it replaces the
// literal text of secret inputs (each whole value and each of its lines)
// with "[secret]". It cannot catch a secret the command transforms; use
// logging: "none" for a guarantee.
type secretMask []string

func newSecretMask(props resource.PropertyMap) secretMask {
	seen := map[string]bool{}
	var m secretMask
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) >= minMaskLen && !seen[s] {
			seen[s] = true
			m = append(m, s)
		}
	}
	var walk func(v resource.PropertyValue, secret bool)
	walk = func(v resource.PropertyValue, secret bool) {
		switch {
		case v.IsSecret():
			walk(v.SecretValue().Element, true)
		case v.IsOutput():
			o := v.OutputValue()
			walk(o.Element, secret || o.Secret)
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(e, secret)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				walk(e, secret)
			}
		case v.IsString() && secret:
			add(v.StringValue())
			for _, line := range strings.Split(v.StringValue(), "\n") {
				add(line)
			}
		}
	}
	for _, k := range secretSources {
		walk(props[resource.PropertyKey(k)], false)
	}
	// Credentials are masked whether or not they are marked secret.
	if c, ok := props["connection"]; ok {
		var creds func(v resource.PropertyValue)
		creds = func(v resource.PropertyValue) {
			v = plain(v)
			if !v.IsObject() {
				return
			}
			obj := v.ObjectValue()
			for _, k := range []resource.PropertyKey{"password", "privateKeyPassword", "privateKey"} {
				walk(obj[k], true)
			}
			creds(obj["proxy"])
		}
		creds(c)
	}
	// Longest first, so that a secret containing another is masked whole.
	sort.Slice(m, func(i, j int) bool { return len(m[i]) > len(m[j]) })
	return m
}

func (m secretMask) apply(s string) string {
	for _, secret := range m {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "[secret]")
		}
	}
	return s
}
