package postback

import (
	"maps"
	"slices"
)

// Presets are the built-in dialects of common trackers and affiliate platforms, chosen by name in a mapping.
// Each lists exactly the parameters that platform's postback sends; docs/postbacks.md shows them.
var Presets = map[string]Mapping{
	// Voluum's postback: cid (the click id), txid (the transaction id), payout, and et, the custom
	// conversion type (e.g. et=dep). Voluum sends no currency: payouts are in the account's currency,
	// USD unless the mapping's defaults say otherwise.
	"voluum": {
		Fields:   map[string]string{"cid": FieldClickID, "txid": FieldEventID, "payout": FieldAmount, "et": FieldEvent},
		Events:   map[string]string{"reg": Registration, "ftd": FTD, "dep": Deposit, "rev": Revenue, "cb": Chargeback},
		Defaults: map[string]string{FieldCurrency: "USD"},
	},
	// Affise's postback: clickid, action_id (the conversion id), goal (its number or name), sum, currency,
	// and status: 1 confirmed, 2 pending, 3 declined, 5 hold. Goals are numbered per offer, so add
	// events such as {"1":"registration","2":"ftd"}; goal names that are event types pass as they are.
	"affise": {
		Fields:   map[string]string{"clickid": FieldClickID, "action_id": FieldEventID, "goal": FieldEvent, "sum": FieldAmount},
		Statuses: map[string]string{"1": StatusApproved, "2": StatusPending, "3": StatusDeclined, "5": StatusPending},
	},
	// TUNE (HasOffers) and Everflow-style server postbacks: transaction_id (the click's transaction id),
	// adv_sub (the advertiser's own order id), goal_id, amount, currency and aff_sub…aff_sub5.
	"tune": {
		Fields: map[string]string{
			"transaction_id": FieldClickID, "adv_sub": FieldEventID, "goal_id": FieldEvent,
			"aff_sub": "sub1", "aff_sub2": "sub2", "aff_sub3": "sub3", "aff_sub4": "sub4", "aff_sub5": "sub5",
		},
	},
}

// PresetNames lists the presets by name.
func PresetNames() []string { return slices.Sorted(maps.Keys(Presets)) }
