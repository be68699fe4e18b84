package command

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Logging says which output streams of a command go to the engine's log.
type Logging string

const (
	LogStdout          Logging = "stdout"
	LogStderr          Logging = "stderr"
	LogStdoutAndStderr Logging = "stdoutAndStderr"
	LogNone            Logging = "none"
)

// Stdout reports whether stdout may be logged or quoted in errors.
func (l Logging) Stdout() bool { return l == LogStdout || l == LogStdoutAndStderr }

// Stderr reports whether stderr may be logged or quoted in errors.
func (l Logging) Stderr() bool { return l == LogStderr || l == LogStdoutAndStderr }

// Connection holds the SSH settings of a remote command (or of its proxy).
type Connection struct {
	Host               string
	Port               int
	User               string
	PrivateKey         string
	PrivateKeyPassword string
	Password           string
	HostKey            string
	DialErrorLimit     int
	PerDialTimeout     int // seconds; 0 means no limit
	AgentSocketPath    string
	Proxy              *Connection
}

// Addr is host:port.
func (c *Connection) Addr() string {
	return joinHostPort(c.Host, c.Port)
}

// Inputs are the decoded, secret-free inputs of a command resource.
type Inputs struct {
	Create, Update, Delete *string
	Stdin                  *string
	Environment            map[string]string
	Logging                Logging
	AddPreviousOutputInEnv bool
	// local only
	Dir         string
	Interpreter []string
	// remote only
	Connection *Connection
}

// unwrapSecret removes a secret wrapper at the top of v.
func unwrapSecret(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// isUnknown reports whether v (under any secret wrapper) is not yet known.
func isUnknown(v resource.PropertyValue) bool {
	v = unwrapSecret(v)
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

// plain returns v with every secret wrapper removed, at any depth.
func plain(v resource.PropertyValue) resource.PropertyValue {
	v = unwrapSecret(v)
	switch {
	case v.IsOutput():
		o := v.OutputValue()
		return plain(o.Element)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			out[i] = plain(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		return resource.NewObjectProperty(plainMap(v.ObjectValue()))
	}
	return v
}

func plainMap(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = plain(v)
	}
	return out
}

// secretSources are the inputs whose values reach the command itself, so its
// output may echo them. The connection is left out on purpose: the SDK wraps
// the whole connection in a secret (remote/command.js), so it says nothing
// about the command, and the command cannot read the key or password anyway.
var secretSources = []string{"create", "update", "delete", "stdin", "environment", "dir", "interpreter", "command"}

// outputIsSecret reports whether stdout/stderr must be secret for these inputs.
func outputIsSecret(props resource.PropertyMap) bool {
	for _, k := range secretSources {
		if v, ok := props[resource.PropertyKey(k)]; ok && v.ContainsSecrets() {
			return true
		}
	}
	return false
}

// decodeInputs turns a property map into Inputs. Unknown values are an error:
// a command cannot run with them.
func decodeInputs(typ string, props resource.PropertyMap) (Inputs, error) {
	d := decoder{props: props}
	in := Inputs{
		Create:                 d.optString("create"),
		Update:                 d.optString("update"),
		Delete:                 d.optString("delete"),
		Stdin:                  d.optString("stdin"),
		Environment:            d.stringMap("environment"),
		Logging:                LogStdoutAndStderr,
		AddPreviousOutputInEnv: true,
	}
	if l := d.optString("logging"); l != nil {
		in.Logging = Logging(*l)
	}
	if b := d.optBool("addPreviousOutputInEnv"); b != nil {
		in.AddPreviousOutputInEnv = *b
	}
	switch typ {
	case LocalCommandType, LocalRunFunction:
		if s := d.optString("dir"); s != nil {
			in.Dir = *s
		}
		in.Interpreter = d.stringList("interpreter")
		if len(in.Interpreter) == 0 {
			in.Interpreter = []string{"/bin/sh", "-c"}
		}
		if typ == LocalRunFunction {
			in.Create = d.optString("command")
		}
	case RemoteCommandType:
		if v, ok := props["connection"]; ok && !v.IsNull() {
			c, err := decodeConnection(v, "connection", true)
			if err != nil {
				return in, err
			}
			in.Connection = c
		} else {
			d.fail("missing required property \"connection\"")
		}
	}
	return in, d.err
}

func decodeConnection(v resource.PropertyValue, path string, allowProxy bool) (*Connection, error) {
	if isUnknown(v) {
		return nil, fmt.Errorf("property %q is not known yet", path)
	}
	v = plain(v)
	if !v.IsObject() {
		return nil, fmt.Errorf("property %q must be an object", path)
	}
	d := decoder{props: v.ObjectValue(), prefix: path + "."}
	c := &Connection{Port: 22, User: "root", DialErrorLimit: 10, PerDialTimeout: 15}
	str := func(k string, dst *string) {
		if s := d.optString(k); s != nil {
			*dst = *s
		}
	}
	num := func(k string, dst *int) {
		if n := d.optInt(k); n != nil {
			*dst = *n
		}
	}
	str("host", &c.Host)
	num("port", &c.Port)
	str("user", &c.User)
	str("privateKey", &c.PrivateKey)
	str("privateKeyPassword", &c.PrivateKeyPassword)
	str("password", &c.Password)
	str("hostKey", &c.HostKey)
	num("dialErrorLimit", &c.DialErrorLimit)
	num("perDialTimeout", &c.PerDialTimeout)
	str("agentSocketPath", &c.AgentSocketPath)
	if c.Host == "" && d.err == nil {
		d.fail(fmt.Sprintf("missing required property %q", path+".host"))
	}
	if p, ok := d.props["proxy"]; ok && !p.IsNull() && allowProxy {
		proxy, err := decodeConnection(p, path+".proxy", false)
		if err != nil {
			return nil, err
		}
		c.Proxy = proxy
	}
	return c, d.err
}

// decoder reads typed values out of a property map, remembering the first error.
type decoder struct {
	props  resource.PropertyMap
	prefix string
	err    error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s", msg)
	}
}

func (d *decoder) get(k string) (resource.PropertyValue, bool) {
	v, ok := d.props[resource.PropertyKey(k)]
	if !ok || v.IsNull() {
		return v, false
	}
	if isUnknown(v) {
		d.fail(fmt.Sprintf("property %q is not known yet", d.prefix+k))
		return v, false
	}
	v = plain(v)
	if v.IsNull() {
		return v, false
	}
	return v, true
}

func (d *decoder) optString(k string) *string {
	v, ok := d.get(k)
	if !ok {
		return nil
	}
	if !v.IsString() {
		d.fail(fmt.Sprintf("property %q must be a string, got %s", d.prefix+k, v.TypeString()))
		return nil
	}
	s := v.StringValue()
	return &s
}

func (d *decoder) optBool(k string) *bool {
	v, ok := d.get(k)
	if !ok {
		return nil
	}
	if !v.IsBool() {
		d.fail(fmt.Sprintf("property %q must be a boolean, got %s", d.prefix+k, v.TypeString()))
		return nil
	}
	b := v.BoolValue()
	return &b
}

func (d *decoder) optInt(k string) *int {
	v, ok := d.get(k)
	if !ok {
		return nil
	}
	if !v.IsNumber() {
		d.fail(fmt.Sprintf("property %q must be a number, got %s", d.prefix+k, v.TypeString()))
		return nil
	}
	n := int(v.NumberValue())
	return &n
}

func (d *decoder) stringMap(k string) map[string]string {
	v, ok := d.get(k)
	if !ok {
		return nil
	}
	if !v.IsObject() {
		d.fail(fmt.Sprintf("property %q must be a map of strings, got %s", d.prefix+k, v.TypeString()))
		return nil
	}
	out := map[string]string{}
	for key, e := range v.ObjectValue() {
		if !e.IsString() {
			d.fail(fmt.Sprintf("property %q must be a string, got %s", d.prefix+k+"."+string(key), e.TypeString()))
			continue
		}
		out[string(key)] = e.StringValue()
	}
	return out
}

func (d *decoder) stringList(k string) []string {
	v, ok := d.get(k)
	if !ok {
		return nil
	}
	if !v.IsArray() {
		d.fail(fmt.Sprintf("property %q must be a list of strings, got %s", d.prefix+k, v.TypeString()))
		return nil
	}
	var out []string
	for i, e := range v.ArrayValue() {
		if !e.IsString() {
			d.fail(fmt.Sprintf("property %q must be a string, got %s", fmt.Sprintf("%s%s[%d]", d.prefix, k, i), e.TypeString()))
			continue
		}
		out = append(out, e.StringValue())
	}
	return out
}

// previousOutput returns the stdout and stderr recorded in a command's state.
func previousOutput(state resource.PropertyMap) (stdout, stderr string) {
	get := func(k resource.PropertyKey) string {
		v := plain(state[k])
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	return get("stdout"), get("stderr")
}

// sortedKeys returns the keys of m in order, so that environments are applied
// deterministically.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
