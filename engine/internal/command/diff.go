package command

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// replaceKeys are the inputs whose change replaces the resource. The SDK also
// sets replaceOnChanges: ["triggers[*]"] on both resources.
var replaceKeys = map[string]bool{"triggers": true}

// diffInputs compares old and new inputs property by property.
//
// Per the SDK docs: a change to triggers replaces the command (create the new
// one, then delete the old one); a change to any other input is an update,
// which runs `update`, or `create` again when no update command is given.
// Equal inputs (secretness aside) are no change at all, so nothing runs.
func diffInputs(typ string, olds, news resource.PropertyMap, ignoreChanges []string) *pulumirpc.DiffResponse {
	ignored := map[string]bool{}
	for _, k := range ignoreChanges {
		ignored[k] = true
	}
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	for _, s := range inputSpecs(typ) {
		k := resource.PropertyKey(s.name)
		if ignored[s.name] {
			continue
		}
		o, hasOld := olds[k]
		n, hasNew := news[k]
		hasOld = hasOld && !o.IsNull()
		hasNew = hasNew && !n.IsNull()
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld && !hasNew:
			continue
		case hasNew && n.ContainsUnknowns():
			kind = pulumirpc.PropertyDiff_UPDATE
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case plain(o).DeepEquals(plain(n)):
			continue
		default:
			kind = pulumirpc.PropertyDiff_UPDATE
		}
		if replaceKeys[s.name] {
			kind = toReplace(kind)
			resp.Replaces = append(resp.Replaces, s.name)
		}
		resp.DetailedDiff[s.name] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Diffs = append(resp.Diffs, s.name)
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

func toReplace(k pulumirpc.PropertyDiff_Kind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case pulumirpc.PropertyDiff_ADD:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case pulumirpc.PropertyDiff_DELETE:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	default:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	}
}

// inputsOf keeps only the input properties of a state (dropping stdout/stderr).
func inputsOf(typ string, state resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, s := range inputSpecs(typ) {
		if v, ok := state[resource.PropertyKey(s.name)]; ok {
			out[resource.PropertyKey(s.name)] = v
		}
	}
	return out
}
