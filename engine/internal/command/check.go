package command

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// failure is one reason why a set of inputs is invalid.
type failure struct {
	Property string
	Reason   string
}

// validate checks props against specs. Unknown (computed) values pass: they
// are checked again once known, when the command runs.
func validate(props resource.PropertyMap, specs []propSpec, prefix string) []failure {
	var fails []failure
	known := map[string]propSpec{}
	for _, s := range specs {
		known[s.name] = s
	}
	keys := props.StableKeys()
	for _, k := range keys {
		if _, ok := known[string(k)]; !ok {
			names := make([]string, 0, len(specs))
			for _, s := range specs {
				if !s.unsupported {
					names = append(names, s.name)
				}
			}
			sort.Strings(names)
			fails = append(fails, failure{prefix + string(k),
				fmt.Sprintf("unknown property %q; expected one of: %s", prefix+string(k), strings.Join(names, ", "))})
		}
	}
	for _, s := range specs {
		v, ok := props[resource.PropertyKey(s.name)]
		path := prefix + s.name
		if !ok || v.IsNull() {
			if s.required {
				fails = append(fails, failure{path, fmt.Sprintf("missing required property %q", path)})
			}
			continue
		}
		fails = append(fails, validateValue(v, s, path)...)
	}
	return fails
}

func validateValue(v resource.PropertyValue, s propSpec, path string) []failure {
	v = unwrapSecret(v)
	if v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known) {
		return nil
	}
	if v.IsOutput() {
		v = unwrapSecret(v.OutputValue().Element)
	}
	bad := func(want string) []failure {
		return []failure{{path, fmt.Sprintf("property %q must be %s, got %s", path, want, v.TypeString())}}
	}
	if s.unsupported {
		if v.IsArray() && len(v.ArrayValue()) == 0 {
			return nil
		}
		return []failure{{path, fmt.Sprintf("property %q is not supported by this command provider (gpmirror's implementation)", path)}}
	}
	switch s.kind {
	case kindString:
		if !v.IsString() {
			return bad("a string")
		}
		if len(s.enum) > 0 {
			for _, e := range s.enum {
				if v.StringValue() == e {
					return nil
				}
			}
			return []failure{{path, fmt.Sprintf("property %q must be one of %s, got %q", path, strings.Join(s.enum, ", "), v.StringValue())}}
		}
	case kindBool:
		if !v.IsBool() {
			return bad("a boolean")
		}
	case kindInt:
		if !v.IsNumber() {
			return bad("a number")
		}
		n := v.NumberValue()
		if n != math.Trunc(n) || math.IsInf(n, 0) || math.IsNaN(n) {
			return []failure{{path, fmt.Sprintf("property %q must be a whole number, got %v", path, n)}}
		}
	case kindStringMap:
		if !v.IsObject() {
			return bad("a map of strings")
		}
		var fails []failure
		obj := v.ObjectValue()
		for _, k := range obj.StableKeys() {
			fails = append(fails, validateValue(obj[k], propSpec{kind: kindString}, path+"."+string(k))...)
		}
		return fails
	case kindStringList:
		if !v.IsArray() {
			return bad("a list of strings")
		}
		var fails []failure
		for i, e := range v.ArrayValue() {
			fails = append(fails, validateValue(e, propSpec{kind: kindString}, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return fails
	case kindAnyList:
		if !v.IsArray() {
			return bad("a list")
		}
	case kindObject:
		if !v.IsObject() {
			return bad("an object")
		}
		return validate(v.ObjectValue(), s.fields, path+".")
	}
	return nil
}

// connectionDefaults are the defaults of the connection schema, the same the
// SDK applies on its side (types/input.js).
var connectionDefaults = map[string]resource.PropertyValue{
	"port":           resource.NewNumberProperty(22),
	"user":           resource.NewStringProperty("root"),
	"dialErrorLimit": resource.NewNumberProperty(10),
	"perDialTimeout": resource.NewNumberProperty(15),
}

// applyDefaults returns a copy of inputs with the schema defaults filled in.
// Only connection (and connection.proxy) have schema defaults; the other
// defaults (logging, interpreter, addPreviousOutputInEnv) apply when the
// command runs, so that inputs keep the program's representation.
func applyDefaults(typ string, inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	if typ != RemoteCommandType {
		return out
	}
	if c, ok := out["connection"]; ok {
		out["connection"] = mapObject(c, func(m resource.PropertyMap) resource.PropertyMap {
			m = fillConnectionDefaults(m)
			if p, ok := m["proxy"]; ok && !p.IsNull() {
				m["proxy"] = mapObject(p, fillConnectionDefaults)
			}
			return m
		})
	}
	return out
}

func fillConnectionDefaults(m resource.PropertyMap) resource.PropertyMap {
	m = m.Copy()
	for k, d := range connectionDefaults {
		if v, ok := m[resource.PropertyKey(k)]; !ok || v.IsNull() {
			m[resource.PropertyKey(k)] = d
		}
	}
	return m
}

// mapObject applies f to the object inside v, keeping v's secret wrapper.
// Unknown values and non-objects are returned unchanged.
func mapObject(v resource.PropertyValue, f func(resource.PropertyMap) resource.PropertyMap) resource.PropertyValue {
	if v.IsSecret() {
		inner := mapObject(v.SecretValue().Element, f)
		return resource.MakeSecret(inner)
	}
	if !v.IsObject() {
		return v
	}
	return resource.NewObjectProperty(f(v.ObjectValue()))
}
