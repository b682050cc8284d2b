package postback

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/affrelay/affrelay/money"
)

// Statuses a sender may give an event. An event without one is approved.
const (
	StatusApproved = "approved"
	StatusPending  = "pending"
	StatusDeclined = "declined"
)

// FieldStatus carries the event's status (approved, pending, declined).
const FieldStatus = "status"

// Statuses lists every status.
var Statuses = []string{StatusApproved, StatusPending, StatusDeclined}

// StatusChangeAllowed reports whether a recorded event's status may change from from to to: a pending event
// is approved or declined, a declined one may still be approved. An approved event stays approved: undoing
// what it earned is a chargeback, refund or reversal.
func StatusChangeAllowed(from, to string) bool {
	switch from {
	case StatusPending:
		return to == StatusApproved || to == StatusDeclined
	case StatusDeclined:
		return to == StatusApproved
	}
	return false
}

// Query parameters that authenticate a request rather than describe the event: the API key as a query token,
// and an hmac-sha256 GET signature with its timestamp.
const (
	ParamToken           = "token"
	ParamSignature       = "signature"
	ParamSignedTimestamp = "timestamp"
)

// TransportParams lists them: a mapping never sees nor maps them.
var TransportParams = []string{ParamToken, ParamSignature, ParamSignedTimestamp}

// TargetFields lists every field a mapping may map a sender's parameter onto.
var TargetFields = append([]string{
	FieldEventID, FieldEvent, FieldAffiliateID, FieldPlayerID, FieldClickID, FieldAmount, FieldCurrency,
	FieldOccurredAt, FieldOriginalEventID, FieldStatus, FieldVolume, FieldInstrument,
}, SubFields[:]...)

// Mapping translates one sender's dialect into affrelay's postback fields. The zero Mapping changes nothing
// and refuses nothing (the native format). Once an integration has a mapping, a parameter that is neither
// one of affrelay's field names, nor mapped, nor ignored is refused, so a typo still gets a 400.
type Mapping struct {
	// Preset names a built-in dialect (Presets) the other members add to or override.
	Preset string `json:"preset,omitempty"`
	// Fields maps a sender's parameter name onto an affrelay field: {"clickid":"click_id"}.
	Fields map[string]string `json:"fields,omitempty"`
	// Events maps a sender's event name onto an event type: {"dep":"deposit"}.
	Events map[string]string `json:"events,omitempty"`
	// Defaults gives a field a constant value when the sender does not send it: {"currency":"USD"}.
	Defaults map[string]string `json:"defaults,omitempty"`
	// Statuses maps a sender's status value onto approved, pending or declined: {"1":"approved"}.
	Statuses map[string]string `json:"statuses,omitempty"`
	// Ignore lists parameters the sender sends that mean nothing here; they are dropped.
	Ignore []string `json:"ignore,omitempty"`
}

// Limits on a mapping's size, so a stored mapping stays small enough to load with every request.
const (
	maxMappingEntries = 64
	maxMappingName    = 64
)

// IsZero reports whether the mapping changes nothing.
func (m Mapping) IsZero() bool {
	return m.Preset == "" && len(m.Fields) == 0 && len(m.Events) == 0 && len(m.Defaults) == 0 && len(m.Statuses) == 0 && len(m.Ignore) == 0
}

// Resolve returns the mapping with its preset's entries merged under its own: the rules Apply follows.
// The preset's name stays, so an operator still sees which dialect it started from.
func (m Mapping) Resolve() (Mapping, error) {
	if m.Preset == "" {
		return m, nil
	}
	p, ok := Presets[m.Preset]
	if !ok {
		return Mapping{}, &FieldError{"preset", fmt.Sprintf("%q is not one of %s", m.Preset, strings.Join(PresetNames(), ", "))}
	}
	out := Mapping{Preset: m.Preset, Fields: merged(p.Fields, m.Fields), Events: merged(p.Events, m.Events),
		Defaults: merged(p.Defaults, m.Defaults), Statuses: merged(p.Statuses, m.Statuses)}
	// An own alias of a name the preset ignores takes it back from the ignore list.
	for _, name := range p.Ignore {
		if _, mapped := out.Fields[name]; !mapped {
			out.Ignore = append(out.Ignore, name)
		}
	}
	// An own ignore entry drops the preset's alias of that name (an own alias of it is refused by Validate).
	for _, name := range m.Ignore {
		if _, own := m.Fields[name]; !own {
			delete(out.Fields, name)
		}
		if !slices.Contains(out.Ignore, name) {
			out.Ignore = append(out.Ignore, name)
		}
	}
	return out, nil
}

func merged(base, own map[string]string) map[string]string {
	if len(base) == 0 && len(own) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	return out
}

// Validate checks a resolved mapping. requiredFields are the fields every postback of the integration
// must carry (event_id or click_id, by its idempotency key, and event): a mapping that renames or ignores
// one of them without another parameter mapped onto it would refuse every postback. Errors are *FieldError
// naming the member at fault, e.g. fields.clickid.
func (m Mapping) Validate(requiredFields []string) error {
	if len(m.Fields)+len(m.Events)+len(m.Defaults)+len(m.Statuses)+len(m.Ignore) > maxMappingEntries {
		return &FieldError{"mapping", fmt.Sprintf("has more than %d entries", maxMappingEntries)}
	}
	targets := map[string]string{} // target field → the sender's parameter mapped onto it
	for _, from := range sortedKeys(m.Fields) {
		to := m.Fields[from]
		name := "fields." + from
		if err := checkName(name, from); err != nil {
			return err
		}
		if !slices.Contains(TargetFields, to) {
			return &FieldError{name, fmt.Sprintf("%q is not a postback field; map onto one of %s", to, strings.Join(TargetFields, ", "))}
		}
		if other, taken := targets[to]; taken {
			return &FieldError{name, fmt.Sprintf("maps onto %s, which %s already maps onto: two parameters cannot fill one field", to, other)}
		}
		targets[to] = from
	}
	for _, name := range m.Ignore {
		if err := checkName("ignore", name); err != nil {
			return err
		}
		if _, mapped := m.Fields[name]; mapped {
			return &FieldError{"ignore", fmt.Sprintf("%q is both mapped and ignored", name)}
		}
	}
	for _, from := range sortedKeys(m.Events) {
		if err := checkValue("events."+from, from); err != nil {
			return err
		}
		if to := m.Events[from]; !knownType(to) {
			return &FieldError{"events." + from, fmt.Sprintf("%q is not one of %s", to, strings.Join(EventTypes, ", "))}
		}
	}
	for _, from := range sortedKeys(m.Statuses) {
		if err := checkValue("statuses."+from, from); err != nil {
			return err
		}
		if to := m.Statuses[from]; !slices.Contains(Statuses, to) {
			return &FieldError{"statuses." + from, fmt.Sprintf("%q is not one of %s", to, strings.Join(Statuses, ", "))}
		}
	}
	for _, field := range sortedKeys(m.Defaults) {
		if err := m.checkDefault(field, m.Defaults[field]); err != nil {
			return err
		}
	}
	for _, field := range requiredFields {
		if _, ok := m.Defaults[field]; ok || m.reachable(field, targets) {
			continue
		}
		return &FieldError{"fields", fmt.Sprintf("no parameter can fill the required field %s: it is mapped away or ignored and nothing is mapped onto it", field)}
	}
	return nil
}

// reachable reports whether some parameter can fill field: its own name passes through unless mapped
// elsewhere or ignored, or another parameter is mapped onto it.
func (m Mapping) reachable(field string, targets map[string]string) bool {
	if _, ok := targets[field]; ok {
		return true
	}
	_, renamed := m.Fields[field]
	return !renamed && !slices.Contains(m.Ignore, field)
}

// checkDefault refuses a default a postback could never carry, and one for an id: a constant event id would
// make every event after the first a duplicate.
func (m Mapping) checkDefault(field, value string) error {
	name := "defaults." + field
	switch {
	case !slices.Contains(TargetFields, field):
		return &FieldError{name, fmt.Sprintf("%q is not a postback field; give defaults for one of %s", field, strings.Join(TargetFields, ", "))}
	case field == FieldEventID || field == FieldOriginalEventID || field == FieldClickID || field == FieldPlayerID:
		return &FieldError{name, "an id cannot have a constant default: every event would share it"}
	case field == FieldCurrency && !money.ValidCurrency(value):
		return &FieldError{name, fmt.Sprintf("%q is not an ISO 4217 currency code such as USD", value)}
	case field == FieldEvent && !knownType(value) && m.Events[value] == "":
		return &FieldError{name, fmt.Sprintf("%q is not one of %s", value, strings.Join(EventTypes, ", "))}
	case field == FieldStatus && !slices.Contains(Statuses, value) && m.Statuses[value] == "":
		return &FieldError{name, fmt.Sprintf("%q is not one of %s", value, strings.Join(Statuses, ", "))}
	}
	return checkValue(name, value)
}

func checkName(member, name string) error {
	if slices.Contains(TransportParams, name) {
		return &FieldError{member, fmt.Sprintf("%q authenticates the request and cannot be mapped", name)}
	}
	return checkValue(member, name)
}

func checkValue(member, v string) error {
	switch {
	case v == "":
		return &FieldError{member, "must not be empty"}
	case len(v) > maxMappingName:
		return &FieldError{member, fmt.Sprintf("is longer than %d bytes", maxMappingName)}
	case !printable(v):
		return &FieldError{member, "must be valid UTF-8 without control characters"}
	}
	return nil
}

// sortedKeys gives a map's keys in order, so the first fault reported is always the same one.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Apply translates a sender's raw parameters by a resolved, validated mapping into affrelay's fields, for
// Parse. The zero mapping returns f as it is. Errors are *FieldError naming the sender's parameter.
func (m Mapping) Apply(f Fields) (Fields, error) {
	if m.IsZero() {
		return f, nil
	}
	out := make(Fields, len(f)+len(m.Defaults))
	for _, name := range sortedKeys(f) {
		vals := f[name]
		switch to, mapped := m.Fields[name]; {
		case slices.Contains(TransportParams, name), slices.Contains(m.Ignore, name):
		case mapped:
			out[to] = append(out[to], vals...)
		case slices.Contains(TargetFields, name):
			out[name] = append(out[name], vals...)
		default:
			return nil, &FieldError{name, "is not a postback field of this integration: map it or list it as ignored (PUT /v1/admin/integrations/{id}/mapping)"}
		}
	}
	for field, v := range m.Defaults {
		if len(out[field]) == 0 || (len(out[field]) == 1 && out[field][0] == "") {
			out[field] = []string{v}
		}
	}
	translate(out, FieldEvent, m.Events)
	translate(out, FieldStatus, m.Statuses)
	return out, nil
}

// translate replaces the one value of field by its alias; anything else is left for Parse to judge.
func translate(f Fields, field string, aliases map[string]string) {
	if vals := f[field]; len(vals) == 1 {
		if to, ok := aliases[vals[0]]; ok {
			f[field] = []string{to}
		}
	}
}

// ParseMapping reads a stored mapping (JSON; "" is the zero mapping) and resolves its preset.
func ParseMapping(stored string) (Mapping, error) {
	var m Mapping
	if stored == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(stored), &m); err != nil {
		return Mapping{}, fmt.Errorf("stored postback mapping: %w", err)
	}
	return m.Resolve()
}
