package payout

import (
	"fmt"
	"sort"
	"strings"

	"github.com/affrelay/affrelay/money"
)

// ParseMinimums reads the program's minimum payouts, "USD:50.00,EUR:50.00"; a currency not named has none.
func ParseMinimums(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		cur, amount, ok := strings.Cut(part, ":")
		cur = strings.TrimSpace(cur)
		if !ok || !money.ValidCurrency(cur) {
			return nil, fmt.Errorf("%q is not CURRENCY:AMOUNT such as USD:50.00", part)
		}
		v, err := money.Parse(strings.TrimSpace(amount), cur)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q: the amount must be a non-negative decimal in %s", part, cur)
		}
		if _, dup := out[cur]; dup {
			return nil, fmt.Errorf("%s is named twice", cur)
		}
		out[cur] = v
	}
	return out, nil
}

// FormatMinimums renders minimums as ParseMinimums reads them, in currency order.
func FormatMinimums(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for cur, v := range m {
		parts = append(parts, cur+":"+money.Format(v, cur))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
