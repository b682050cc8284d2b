package retrypolicy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	s = time.Second
	m = time.Minute
	h = time.Hour
)

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
	if want := []time.Duration{30 * s, 2 * m, 10 * m, h}; !slices.Equal(p.Schedule, want) {
		t.Errorf("Schedule = %v; want %v", p.Schedule, want)
	}
	if p.MaxAttempts != 15 || p.Window != 24*h || p.MaxRetryAfter != h {
		t.Errorf("DefaultPolicy() = %+v; want MaxAttempts 15, Window 24h, MaxRetryAfter 1h", p)
	}
	// Each call returns its own schedule, so callers cannot corrupt the default.
	p.Schedule[0] = h
	if DefaultPolicy().Schedule[0] != 30*s {
		t.Error("modifying a DefaultPolicy schedule changed the next DefaultPolicy")
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in   string
		want []time.Duration
	}{
		{"30s,2m,10m,1h", []time.Duration{30 * s, 2 * m, 10 * m, h}},
		{"30s , 2m ,10m,  1h", []time.Duration{30 * s, 2 * m, 10 * m, h}},
		{"  5s  ", []time.Duration{5 * s}},
		{"1h30m,1.5h,500ms", []time.Duration{90 * m, 90 * m, 500 * time.Millisecond}},
		{"1ns", []time.Duration{1}},
		{strings.Repeat("1s,", 99) + "1s", slices.Repeat([]time.Duration{s}, 100)},
	}
	for _, tt := range tests {
		got, err := ParseSchedule(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseSchedule(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "retry schedule is empty"},
		{"   ", "retry schedule is empty"},
		{"30s,,1h", "retry schedule step 2 is empty"},
		{"30s,1h,", "retry schedule step 3 is empty"},
		{",30s", "retry schedule step 1 is empty"},
		{"30s,2x", `retry schedule step 2 "2x" is not a duration such as 30s, 2m or 1h`},
		{"30", `retry schedule step 1 "30" is not a duration such as 30s, 2m or 1h`},
		{"30s;2m", `retry schedule step 1 "30s;2m" is not a duration such as 30s, 2m or 1h`},
		{"30s,0s", `retry schedule step 2 "0s" is not positive`},
		{"0", `retry schedule step 1 "0" is not positive`},
		{"30s,-1m", `retry schedule step 2 "-1m" is not positive`},
		{strings.Repeat("1s,", 100) + "1s", "retry schedule has 101 steps; the limit is 100"},
	}
	for _, tt := range tests {
		got, err := ParseSchedule(tt.in)
		if err == nil {
			t.Errorf("ParseSchedule(%q) = %v, nil; want error %q", tt.in, got, tt.wantErr)
			continue
		}
		if err.Error() != tt.wantErr {
			t.Errorf("ParseSchedule(%q) error = %q; want %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestValidate(t *testing.T) {
	valid := func(edit func(*Policy)) Policy {
		p := DefaultPolicy()
		edit(&p)
		return p
	}
	tests := []struct {
		name    string
		policy  Policy
		wantErr string // "" means valid
	}{
		{"default", DefaultPolicy(), ""},
		{"one attempt", valid(func(p *Policy) { p.MaxAttempts = 1 }), ""},
		{"1000 attempts", valid(func(p *Policy) { p.MaxAttempts = 1000 }), ""},
		{"zero policy", Policy{}, "retry policy: Schedule is empty"},
		{"empty schedule", valid(func(p *Policy) { p.Schedule = nil }), "retry policy: Schedule is empty"},
		{"too many steps", valid(func(p *Policy) { p.Schedule = slices.Repeat([]time.Duration{s}, 101) }),
			"retry policy: Schedule has 101 steps; the limit is 100"},
		{"zero step", valid(func(p *Policy) { p.Schedule = []time.Duration{s, 0} }),
			"retry policy: Schedule step 2 is 0s; steps must be positive"},
		{"negative step", valid(func(p *Policy) { p.Schedule = []time.Duration{-s} }),
			"retry policy: Schedule step 1 is -1s; steps must be positive"},
		{"zero attempts", valid(func(p *Policy) { p.MaxAttempts = 0 }),
			"retry policy: MaxAttempts is 0; it must be between 1 and 1000"},
		{"too many attempts", valid(func(p *Policy) { p.MaxAttempts = 1001 }),
			"retry policy: MaxAttempts is 1001; it must be between 1 and 1000"},
		{"zero window", valid(func(p *Policy) { p.Window = 0 }),
			"retry policy: Window is 0s; it must be positive"},
		{"negative window", valid(func(p *Policy) { p.Window = -h }),
			"retry policy: Window is -1h0m0s; it must be positive"},
		{"zero MaxRetryAfter", valid(func(p *Policy) { p.MaxRetryAfter = 0 }),
			"retry policy: MaxRetryAfter is 0s; it must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("Validate() = %v; want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDelayAfter(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		n    int
		want time.Duration
	}{
		{-5, 30 * s}, // below 1 is treated as 1
		{0, 30 * s},
		{1, 30 * s},
		{2, 2 * m},
		{3, 10 * m},
		{4, h},
		{5, h}, // past the end: the last step repeats
		{14, h},
		{1 << 40, h},
	}
	for _, tt := range tests {
		if got := p.DelayAfter(tt.n); got != tt.want {
			t.Errorf("DelayAfter(%d) = %v; want %v", tt.n, got, tt.want)
		}
	}
	if got := (Policy{}).DelayAfter(1); got != 0 {
		t.Errorf("DelayAfter on an empty schedule = %v; want 0", got)
	}
}

func TestNextDelay(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name string
		p    Policy
		n    int
		v    Verdict
		want time.Duration
	}{
		{"no Retry-After uses schedule", p, 2, Verdict{Outcome: Retryable}, 2 * m},
		{"no Retry-After past schedule end", p, 9, Verdict{Outcome: Retryable}, h},
		{"Retry-After shorter than schedule", p, 4, Verdict{Outcome: Retryable, RetryAfter: 5 * s}, 5 * s},
		{"Retry-After longer than schedule", p, 1, Verdict{Outcome: Retryable, RetryAfter: 20 * m}, 20 * m},
		{"Retry-After below 1s", p, 1, Verdict{Outcome: Retryable, RetryAfter: time.Millisecond}, s},
		{"Retry-After above MaxRetryAfter", p, 1, Verdict{Outcome: Retryable, RetryAfter: 48 * h}, h},
		{"saturated Retry-After", p, 1, Verdict{Outcome: Retryable, RetryAfter: 1<<63 - 1}, h},
		{"1s floor beats tiny MaxRetryAfter", Policy{Schedule: []time.Duration{m}, MaxRetryAfter: time.Millisecond}, 1,
			Verdict{Outcome: Retryable, RetryAfter: m}, s},
	}
	for _, tt := range tests {
		if got := tt.p.NextDelay(tt.n, tt.v); got != tt.want {
			t.Errorf("%s: NextDelay(%d, %+v) = %v; want %v", tt.name, tt.n, tt.v, got, tt.want)
		}
	}
}

func TestOffsets(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		want   []time.Duration
	}{
		{
			name:   "default",
			policy: DefaultPolicy(),
			want: []time.Duration{
				0, 30 * s, 2*m + 30*s, 12*m + 30*s,
				1*h + 12*m + 30*s, 2*h + 12*m + 30*s, 3*h + 12*m + 30*s, 4*h + 12*m + 30*s,
				5*h + 12*m + 30*s, 6*h + 12*m + 30*s, 7*h + 12*m + 30*s, 8*h + 12*m + 30*s,
				9*h + 12*m + 30*s, 10*h + 12*m + 30*s, 11*h + 12*m + 30*s,
			},
		},
		{
			name:   "window cuts the series short",
			policy: Policy{Schedule: []time.Duration{30 * s, 2 * m, 10 * m, h}, MaxAttempts: 15, Window: 3 * h, MaxRetryAfter: h},
			want:   []time.Duration{0, 30 * s, 2*m + 30*s, 12*m + 30*s, 1*h + 12*m + 30*s, 2*h + 12*m + 30*s},
		},
		{
			name:   "attempt exactly at the window is included",
			policy: Policy{Schedule: []time.Duration{h}, MaxAttempts: 10, Window: 2 * h, MaxRetryAfter: h},
			want:   []time.Duration{0, h, 2 * h},
		},
		{
			name:   "window shorter than the first delay",
			policy: Policy{Schedule: []time.Duration{h}, MaxAttempts: 10, Window: m, MaxRetryAfter: h},
			want:   []time.Duration{0},
		},
		{
			name:   "single attempt",
			policy: Policy{Schedule: []time.Duration{h}, MaxAttempts: 1, Window: 24 * h, MaxRetryAfter: h},
			want:   []time.Duration{0},
		},
		{
			name:   "huge steps do not overflow",
			policy: Policy{Schedule: []time.Duration{1<<63 - 1}, MaxAttempts: 5, Window: 1<<63 - 1, MaxRetryAfter: h},
			want:   []time.Duration{0, 1<<63 - 1},
		},
		{
			name:   "invalid policy",
			policy: Policy{},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.Offsets()
			if !slices.Equal(got, tt.want) {
				t.Errorf("Offsets() = %v; want %v", got, tt.want)
			}
			for _, off := range got {
				if off > tt.policy.Window {
					t.Errorf("offset %v is after the window %v", off, tt.policy.Window)
				}
			}
		})
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, seed := range []string{
		"30s,2m,10m,1h", "30s , 2m ,10m,  1h", "1h30m,1.5h,500ms", "", " ", ",", "30s,,1h",
		"0", "-1s", "2x", "9223372036854775807ns", "9223372036854775808ns", "1e3s", ".5s",
		strings.Repeat("1s,", 99) + "1s", strings.Repeat("1s,", 100) + "1s",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		schedule, err := ParseSchedule(in)
		if err != nil {
			if schedule != nil {
				t.Fatalf("ParseSchedule(%q) = %v with error %v; want nil", in, schedule, err)
			}
			return
		}
		if len(schedule) == 0 || len(schedule) > 100 {
			t.Fatalf("ParseSchedule(%q) returned %d steps", in, len(schedule))
		}
		steps := make([]string, len(schedule))
		for i, d := range schedule {
			if d <= 0 {
				t.Fatalf("ParseSchedule(%q) step %d = %v; want positive", in, i+1, d)
			}
			steps[i] = d.String()
		}
		// The canonical form parses back to the same schedule.
		canonical := strings.Join(steps, ",")
		again, err := ParseSchedule(canonical)
		if err != nil || !slices.Equal(again, schedule) {
			t.Fatalf("ParseSchedule(%q) = %v, %v; want %v", canonical, again, err, schedule)
		}
		p := Policy{Schedule: schedule, MaxAttempts: 1000, Window: 24 * h, MaxRetryAfter: h}
		if err := p.Validate(); err != nil {
			t.Fatalf("a parsed schedule does not validate: %v", err)
		}
		if offsets := p.Offsets(); len(offsets) == 0 || offsets[0] != 0 || !slices.IsSorted(offsets) {
			t.Fatalf("Offsets() = %v", offsets)
		}
	})
}
