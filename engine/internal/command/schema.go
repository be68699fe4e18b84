package command

import "encoding/json"

// schemaJSON is a small but valid Pulumi package schema for the two resources
// and the command:local:run function. The engine does not need it to run a
// program; it serves `pulumi package get-schema` and tools that ask.
func schemaJSON() string {
	connRef := map[string]any{"$ref": "#/types/command:remote:Connection"}
	proxyRef := map[string]any{"$ref": "#/types/command:remote:ProxyConnection"}
	typeOf := func(s propSpec) map[string]any {
		var t map[string]any
		switch s.kind {
		case kindString:
			t = map[string]any{"type": "string"}
			if len(s.enum) > 0 {
				t = map[string]any{"$ref": "#/types/command:local:Logging"}
			}
		case kindBool:
			t = map[string]any{"type": "boolean"}
		case kindInt:
			t = map[string]any{"type": "integer"}
		case kindStringMap:
			t = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
		case kindStringList:
			t = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		case kindAnyList:
			t = map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}}
		case kindObject:
			if s.name == "proxy" {
				t = proxyRef
			} else {
				t = connRef
			}
		}
		if s.description != "" {
			t["description"] = s.description
		}
		return t
	}
	props := func(specs []propSpec) (map[string]any, []string) {
		m := map[string]any{}
		var req []string
		for _, s := range specs {
			if s.unsupported {
				continue
			}
			m[s.name] = typeOf(s)
			if s.required {
				req = append(req, s.name)
			}
		}
		return m, req
	}
	resourceSpec := func(typ, desc string) map[string]any {
		in, req := props(inputSpecs(typ))
		out := map[string]any{}
		for k, v := range in {
			out[k] = v
		}
		for _, k := range outputOnly {
			out[k] = map[string]any{"type": "string"}
		}
		r := map[string]any{
			"description":     desc,
			"inputProperties": in,
			"properties":      out,
			"required":        append([]string{"stdout", "stderr"}, req...),
		}
		if len(req) > 0 {
			r["requiredInputs"] = req
		}
		return r
	}
	objType := func(specs []propSpec) map[string]any {
		p, req := props(specs)
		return map[string]any{"type": "object", "properties": p, "required": req}
	}
	runIn, runReq := props(localRunInputs)
	runOut := map[string]any{}
	for k, v := range runIn {
		runOut[k] = v
	}
	for _, k := range outputOnly {
		runOut[k] = map[string]any{"type": "string"}
	}
	var loggingEnum []map[string]any
	for _, v := range loggingValues {
		loggingEnum = append(loggingEnum, map[string]any{"value": v})
	}
	schema := map[string]any{
		"name":        PackageName,
		"version":     Version,
		"displayName": "Command",
		"description": "Runs commands locally or over SSH (gpmirror's implementation of the command provider protocol).",
		"resources": map[string]any{
			LocalCommandType:  resourceSpec(LocalCommandType, "A command run on this machine."),
			RemoteCommandType: resourceSpec(RemoteCommandType, "A command run on a remote host over SSH."),
		},
		"types": map[string]any{
			"command:remote:Connection":      objType(remoteOnlyInputs[0].fields),
			"command:remote:ProxyConnection": objType(connectionFields),
			"command:local:Logging":          map[string]any{"type": "string", "enum": loggingEnum},
			"command:remote:Logging":         map[string]any{"type": "string", "enum": loggingEnum},
		},
		"functions": map[string]any{
			LocalRunFunction: map[string]any{
				"inputs":  map[string]any{"properties": runIn, "required": runReq},
				"outputs": map[string]any{"properties": runOut, "required": []string{"command", "stdout", "stderr"}},
			},
		},
	}
	b, err := json.Marshal(schema)
	if err != nil {
		panic(err) // static data: cannot fail
	}
	return string(b)
}
