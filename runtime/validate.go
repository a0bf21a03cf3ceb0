package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/aignehub/hub/sdk/abi"
)

// signature is a function type, e.g. (i32,i32)->(i64).
type signature struct{ params, results []api.ValueType }

func (s signature) String() string {
	return "(" + valueTypes(s.params) + ")->(" + valueTypes(s.results) + ")"
}

func (s signature) matches(d api.FunctionDefinition) bool {
	return slices.Equal(s.params, d.ParamTypes()) && slices.Equal(s.results, d.ResultTypes())
}

func sigOf(d api.FunctionDefinition) signature {
	return signature{d.ParamTypes(), d.ResultTypes()}
}

func valueTypes(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ",")
}

// Export signatures of ABI v1 (see package abi).
var (
	sigMarker   = signature{}
	sigAlloc    = signature{[]api.ValueType{i32}, []api.ValueType{i32}}
	sigDescribe = signature{nil, []api.ValueType{i64}}
	sigCall     = signature{[]api.ValueType{i32, i32}, []api.ValueType{i64}}
)

// Exports every plugin has, whatever its kind.
var requiredExports = []struct {
	name string
	sig  signature
}{
	{abi.ExportMarker, sigMarker},
	{abi.ExportAlloc, sigAlloc},
	{abi.ExportDescribe, sigDescribe},
}

// kindExports lists the (ptr,len)->packed exports each plugin kind must
// have.
var kindExports = map[string][]string{
	abi.KindProvider: {abi.ExportRequest, abi.ExportResponse, abi.ExportStreamEvent},
	abi.KindBilling:  {abi.ExportQuote, abi.ExportSettle},
}

// validateModule checks a compiled module against ABI v1 before anything
// of it runs: its imports must all be functions the host modules export, with
// the same signatures, and it must export its memory and the required
// functions. host maps an allowed import module to its exported functions.
// It reports every problem at once.
func validateModule(m wazero.CompiledModule, host map[string]map[string]api.FunctionDefinition) error {
	var errs problems
	for _, imp := range m.ImportedFunctions() {
		mod, name, _ := imp.Import()
		fns, ok := host[mod]
		if !ok {
			errs.add("import %q.%q not allowed (allowed modules: %s, %s)", mod, name, abi.ImportModule, abi.WASIModule)
			continue
		}
		want, ok := fns[name]
		if !ok {
			errs.add("import %q.%q is not provided by the host", mod, name)
			continue
		}
		if !sigOf(want).matches(imp) {
			errs.add("import %q.%q has signature %s, want %s", mod, name, sigOf(imp), sigOf(want))
		}
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		errs.add("import %q.%q: importing memory is not allowed (a plugin exports its own)", mod, name)
	}

	exports := m.ExportedFunctions()
	if _, ok := m.ExportedMemories()["memory"]; !ok {
		errs.add("missing export \"memory\" (the module's linear memory)")
	}
	for _, e := range requiredExports {
		d, ok := exports[e.name]
		switch {
		case !ok && e.name == abi.ExportMarker:
			if other := otherMarkers(exports); len(other) > 0 {
				errs.add("missing export %q: the module declares %s, which this host does not support", e.name, strings.Join(other, ", "))
			} else {
				errs.add("missing export %q: not a hub plugin, or built for another ABI", e.name)
			}
		case !ok:
			errs.add("missing export %q %s", e.name, e.sig)
		case !e.sig.matches(d):
			errs.add("export %q has signature %s, want %s", e.name, sigOf(d), e.sig)
		}
	}
	// Kind-specific exports are required only once hub_describe has said
	// the kind, but a present one must have the right type either way.
	for _, names := range kindExports {
		for _, name := range names {
			if d, ok := exports[name]; ok && !sigCall.matches(d) {
				errs.add("export %q has signature %s, want %s", name, sigOf(d), sigCall)
			}
		}
	}
	return errs.err()
}

// otherMarkers returns hub_abi_vN exports other than ours, sorted.
func otherMarkers(exports map[string]api.FunctionDefinition) []string {
	var out []string
	for name := range exports {
		if strings.HasPrefix(name, "hub_abi_v") && name != abi.ExportMarker {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// validateManifest checks what hub_describe returned against ABI v1 and the
// module's exports.
func validateManifest(m abi.Manifest, exports map[string]api.FunctionDefinition) error {
	if m.ABI != abi.Version {
		return fmt.Errorf("manifest declares abi %d, want %d", m.ABI, abi.Version)
	}
	need, ok := kindExports[m.Kind]
	if !ok {
		return fmt.Errorf("manifest declares unknown kind %q (known: %s, %s)", m.Kind, abi.KindProvider, abi.KindBilling)
	}
	var errs problems
	for _, name := range need {
		if _, ok := exports[name]; !ok {
			errs.add("kind %q requires export %q %s", m.Kind, name, sigCall)
		}
	}
	return errs.err()
}
