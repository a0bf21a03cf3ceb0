package abi

import "encoding/binary"

// Exports of billing plugins (Manifest.Kind == KindBilling). Like the
// provider calls, each takes (ptr i32, len i32) of an input record and
// returns a packed i64 result. A billing policy is pure and deterministic:
// it has no clock (the host passes its time), no I/O and no state between
// calls; the same input always gives the same price.
//
// All money is int64 micro-credits (1 credit = 1,000,000 micro-credits);
// token rates are micro-credits per 1,000,000 tokens.
const (
	// ExportQuote is "hub_quote": before a call, may it run, and how much
	// of the account's balance does the host hold for it?
	// Input fields: [QuoteIn]. Result fields on success: [QuoteOut].
	ExportQuote = "hub_quote"
	// ExportSettle is "hub_settle": after a call, what does it cost?
	// Input fields: [SettleIn]. Result fields on success: [SettleOut].
	ExportSettle = "hub_settle"
)

// Codes of a refused quote ([QuoteOut].Code).
const (
	// CodeUnpricedModel: the model has no rate ([Rate].Found is false). The
	// host answers 400.
	CodeUnpricedModel = "unpriced_model"
	// CodePolicyDenied: the policy refuses the call for a reason of its own.
	CodePolicyDenied = "policy_denied"
)

// Quote result flags, the u32 field 0 of [QuoteOut].
const (
	// QuoteAllow: the call may run. Without it (including a QuoteOut with
	// no fields at all) the call is refused: a policy fails closed.
	QuoteAllow uint32 = 1 << 0
)

// Settle input flags, the u32 field 11 of [SettleIn].
const (
	// SettleEstimated: the provider reported no usage; the host estimated it.
	SettleEstimated uint32 = 1 << 0
	// SettleAborted: the call ended early (the client went away, the stream
	// broke); Usage is what was delivered before.
	SettleAborted uint32 = 1 << 1
)

// Rate is the price list of one model, as the operator set it
// (store.ModelRate in the host). As a field it is empty when Found is false
// and otherwise six little-endian int64 in the order below (48 bytes); later
// revisions may append more int64s, which decoders ignore.
type Rate struct {
	// Found is false when the model has no rate; the other fields are then
	// zero and are not sent.
	Found bool
	// InputPerM prices prompt tokens not read from or written to a cache,
	// per 1,000,000 tokens.
	InputPerM int64
	// OutputPerM prices completion tokens, reasoning included, per 1,000,000.
	OutputPerM int64
	// CachedReadPerM prices prompt tokens read from the provider's cache,
	// per 1,000,000.
	CachedReadPerM int64
	// CacheWritePerM prices prompt tokens written to the provider's cache,
	// per 1,000,000.
	CacheWritePerM int64
	// PerImage prices each generated image.
	PerImage int64
	// MinPerCall is the least a call costs.
	MinPerCall int64
}

// rateLen is the encoded size of a found Rate in ABI v1.
const rateLen = 6 * 8

// AppendRateField appends r as a field: empty when r.Found is false.
func AppendRateField(dst []byte, r Rate) []byte {
	if !r.Found {
		return binary.LittleEndian.AppendUint32(dst, 0)
	}
	dst = binary.LittleEndian.AppendUint32(dst, rateLen)
	for _, v := range [...]int64{r.InputPerM, r.OutputPerM, r.CachedReadPerM, r.CacheWritePerM, r.PerImage, r.MinPerCall} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

// ParseRate decodes a rate field; an empty field is a Rate with Found false.
func ParseRate(field []byte) (Rate, error) {
	if len(field) == 0 {
		return Rate{}, nil
	}
	if len(field) < rateLen || len(field)%8 != 0 {
		return Rate{}, ErrMalformed
	}
	le := binary.LittleEndian
	return Rate{
		Found:          true,
		InputPerM:      int64(le.Uint64(field[0:])),
		OutputPerM:     int64(le.Uint64(field[8:])),
		CachedReadPerM: int64(le.Uint64(field[16:])),
		CacheWritePerM: int64(le.Uint64(field[24:])),
		PerImage:       int64(le.Uint64(field[32:])),
		MinPerCall:     int64(le.Uint64(field[40:])),
	}, nil
}

// appendI64Field appends v as an 8-byte field (two's complement, LE).
func appendI64Field(dst []byte, v int64) []byte { return AppendU64Field(dst, uint64(v)) }

// fieldDecoder decodes typed fields, keeping the first error.
type fieldDecoder struct{ err error }

func (d *fieldDecoder) i64(field []byte) int64 {
	v, err := U64(field)
	if err != nil && d.err == nil {
		d.err = err
	}
	return int64(v)
}

func (d *fieldDecoder) u32(field []byte) uint32 {
	v, err := U32(field)
	if err != nil && d.err == nil {
		d.err = err
	}
	return v
}

func (d *fieldDecoder) rate(field []byte) Rate {
	r, err := ParseRate(field)
	if err != nil && d.err == nil {
		d.err = err
	}
	return r
}

// QuoteIn is the input record of [ExportQuote], sent before the upstream
// call. i64 fields are 8-byte fields (empty means 0).
//
//	 0 account_id        i64: the account that pays
//	 1 key_id            i64: the API key the call came with
//	 2 api               e.g. "chat.completions" (the RequestIn api)
//	 3 provider          the provider serving the call, e.g. "openai"
//	 4 model             the upstream model id, without the provider prefix
//	 5 requested_model   the model as the client named it (maybe an alias)
//	 6 est_input_tokens  i64: the host's estimate of the prompt tokens
//	 7 max_output_tokens i64: the most output tokens the call may produce
//	 8 images            i64: images asked for (images.generations), else 0
//	 9 time              i64: the host's clock, Unix milliseconds
//	10 rate              a Rate field: the model's rate (empty: none)
//	11 balance           i64: the account's balance before this call
//	12 charged_today     i64: the account's daily total before this call
//	                     (see sdk/ABI.md, "Billing plugins")
type QuoteIn struct {
	AccountID       int64
	KeyID           int64
	API             string
	Provider        string
	Model           string
	RequestedModel  string
	EstInputTokens  int64
	MaxOutputTokens int64
	Images          int64
	UnixMS          int64
	Rate            Rate
	Balance         int64
	ChargedToday    int64
}

// Append appends the record to dst.
func (r *QuoteIn) Append(dst []byte) []byte {
	dst = appendI64Field(dst, r.AccountID)
	dst = appendI64Field(dst, r.KeyID)
	dst = AppendStringField(dst, r.API)
	dst = AppendStringField(dst, r.Provider)
	dst = AppendStringField(dst, r.Model)
	dst = AppendStringField(dst, r.RequestedModel)
	dst = appendI64Field(dst, r.EstInputTokens)
	dst = appendI64Field(dst, r.MaxOutputTokens)
	dst = appendI64Field(dst, r.Images)
	dst = appendI64Field(dst, r.UnixMS)
	dst = AppendRateField(dst, r.Rate)
	dst = appendI64Field(dst, r.Balance)
	return appendI64Field(dst, r.ChargedToday)
}

// Parse decodes the record; on error r is left as it was.
func (r *QuoteIn) Parse(rec []byte) error {
	// Checked first, then stored field by field: a Wasm guest decodes its
	// input at every call, and building a copy to assign costs as much as
	// the decoding.
	var f [13][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	if !i64Fields(&f, 0, 1, 6, 7, 8, 9, 11, 12) || !rateField(f[10]) {
		return ErrMalformed
	}
	r.AccountID, r.KeyID = le64(f[0]), le64(f[1])
	r.API = intern(slotAPI, f[2])
	r.Provider = intern(slotProvider, f[3])
	r.Model = intern(slotModel, f[4])
	r.RequestedModel = intern(slotRequestedModel, f[5])
	r.EstInputTokens, r.MaxOutputTokens, r.Images, r.UnixMS = le64(f[6]), le64(f[7]), le64(f[8]), le64(f[9])
	r.Rate, _ = ParseRate(f[10])
	r.Balance, r.ChargedToday = le64(f[11]), le64(f[12])
	return nil
}

// i64Fields reports whether the fields at indexes are each empty or 8 bytes.
func i64Fields(f *[13][]byte, indexes ...int) bool {
	for _, i := range indexes {
		if l := len(f[i]); l != 0 && l != 8 {
			return false
		}
	}
	return true
}

// rateField reports whether ParseRate accepts field.
func rateField(field []byte) bool {
	return len(field) == 0 || (len(field) >= rateLen && len(field)%8 == 0)
}

// le64 decodes a field i64Fields accepted: empty is 0.
func le64(field []byte) int64 {
	if len(field) != 8 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(field))
}

// QuoteOut is the success record of [ExportQuote].
//
//	0 flags   u32: QuoteAllow (absent: the call is refused)
//	1 reason  why the call is refused, shown to the client; empty when allowed
//	2 hold    i64: micro-credits the host holds from the balance while the
//	          call runs: the policy's worst case for it (>= 0)
//	3 code    the refusal's machine code: CodeUnpricedModel,
//	          CodePolicyDenied or another of the policy's own
type QuoteOut struct {
	Allow  bool
	Reason string
	Hold   int64
	Code   string
}

// Append appends the record to dst.
func (r *QuoteOut) Append(dst []byte) []byte {
	var flags uint32
	if r.Allow {
		flags |= QuoteAllow
	}
	dst = AppendU32Field(dst, flags)
	dst = AppendStringField(dst, r.Reason)
	dst = appendI64Field(dst, r.Hold)
	return AppendStringField(dst, r.Code)
}

// Parse decodes the record.
func (r *QuoteOut) Parse(rec []byte) error {
	var f [4][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	var d fieldDecoder
	v := QuoteOut{Allow: d.u32(f[0])&QuoteAllow != 0, Reason: string(f[1]), Hold: d.i64(f[2]), Code: string(f[3])}
	if d.err != nil {
		return d.err
	}
	*r = v
	return nil
}

// SettleIn is the input record of [ExportSettle], sent once the call has
// ended (whether it succeeded, failed after output, or was aborted).
//
//	 0 account_id       i64
//	 1 key_id           i64
//	 2 api              as in QuoteIn
//	 3 provider         the provider that served the call
//	 4 model            the upstream model id, without the provider prefix
//	 5 requested_model  the model as the client named it
//	 6 time             i64: the call's time, Unix milliseconds: the same
//	                    time the host passed to the quote
//	 7 rate             a Rate field: the model's rate, as for the quote
//	 8 charged_today    i64: the account's daily total before this call
//	 9 held             i64: what the host held for the call (QuoteOut.Hold)
//	10 usage            a Usage field: what the call used
//	11 flags            u32: SettleEstimated | SettleAborted
type SettleIn struct {
	AccountID      int64
	KeyID          int64
	API            string
	Provider       string
	Model          string
	RequestedModel string
	UnixMS         int64
	Rate           Rate
	ChargedToday   int64
	Held           int64
	Usage          Usage
	// Estimated: the provider reported no usage and the host estimated it.
	Estimated bool
	// Aborted: the call ended early; Usage is what was delivered.
	Aborted bool
}

// Append appends the record to dst.
func (r *SettleIn) Append(dst []byte) []byte {
	dst = appendI64Field(dst, r.AccountID)
	dst = appendI64Field(dst, r.KeyID)
	dst = AppendStringField(dst, r.API)
	dst = AppendStringField(dst, r.Provider)
	dst = AppendStringField(dst, r.Model)
	dst = AppendStringField(dst, r.RequestedModel)
	dst = appendI64Field(dst, r.UnixMS)
	dst = AppendRateField(dst, r.Rate)
	dst = appendI64Field(dst, r.ChargedToday)
	dst = appendI64Field(dst, r.Held)
	dst = AppendUsageField(dst, &r.Usage)
	var flags uint32
	if r.Estimated {
		flags |= SettleEstimated
	}
	if r.Aborted {
		flags |= SettleAborted
	}
	return AppendU32Field(dst, flags)
}

// Parse decodes the record; on error r is left as it was. An empty usage
// field decodes as zero usage.
func (r *SettleIn) Parse(rec []byte) error {
	// As QuoteIn.Parse: checked first, then stored field by field. The
	// record has 12 fields; the array is i64Fields' size.
	var f [13][]byte
	if _, err := Fields(rec, f[:12]); err != nil {
		return err
	}
	if !i64Fields(&f, 0, 1, 6, 8, 9) || !rateField(f[7]) {
		return ErrMalformed
	}
	u, _, err := ParseUsage(f[10])
	if err != nil {
		return err
	}
	flags, err := U32(f[11])
	if err != nil {
		return err
	}
	r.AccountID, r.KeyID = le64(f[0]), le64(f[1])
	r.API = intern(slotAPI, f[2])
	r.Provider = intern(slotProvider, f[3])
	r.Model = intern(slotModel, f[4])
	r.RequestedModel = intern(slotRequestedModel, f[5])
	r.UnixMS = le64(f[6])
	r.Rate, _ = ParseRate(f[7])
	r.ChargedToday, r.Held = le64(f[8]), le64(f[9])
	r.Usage = u
	r.Estimated = flags&SettleEstimated != 0
	r.Aborted = flags&SettleAborted != 0
	return nil
}

// LineItem is one line of a settlement: what was priced, how many units,
// and what it costs. Adjustments (a minimum charge, a discount, a markup)
// have Quantity 0; a discount has a negative Amount.
type LineItem struct {
	// Name is a short machine name: "input", "cached_input", "cache_write",
	// "output", "images", "minimum", or a policy's own.
	Name string
	// Quantity is the units the line prices (tokens or images); 0 for an
	// adjustment.
	Quantity int64
	// Amount is the line's price in micro-credits.
	Amount int64
}

// SettleOut is the success record of [ExportSettle].
//
//	0 amount  i64: the micro-credits the call costs (>= 0)
//	1 items   zero or more LineItems, each as three nested fields:
//	          name, quantity (i64), amount (i64). Their amounts add up to
//	          amount
type SettleOut struct {
	Amount int64
	Items  []LineItem
}

// Append appends the record to dst.
func (r *SettleOut) Append(dst []byte) []byte {
	dst = appendI64Field(dst, r.Amount)
	n := 0
	for _, it := range r.Items {
		n += 4 + len(it.Name) + 2*(4+8)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	for _, it := range r.Items {
		dst = AppendStringField(dst, it.Name)
		dst = appendI64Field(dst, it.Quantity)
		dst = appendI64Field(dst, it.Amount)
	}
	return dst
}

// Parse decodes the record. Items reuses the capacity of r.Items.
func (r *SettleOut) Parse(rec []byte) error {
	var f [2][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	var d fieldDecoder
	amount := d.i64(f[0])
	items := r.Items[:0]
	for b := f[1]; len(b) > 0; {
		var name, qty, amt []byte
		var err error
		if name, b, err = nextField(b); err != nil {
			return err
		}
		if qty, b, err = nextField(b); err != nil {
			return err
		}
		if amt, b, err = nextField(b); err != nil {
			return err
		}
		items = append(items, LineItem{Name: itemName(name), Quantity: d.i64(qty), Amount: d.i64(amt)})
	}
	if d.err != nil {
		return d.err
	}
	*r = SettleOut{Amount: amount, Items: items}
	return nil
}

// commonItems are the line item names of the SDK's list price (package
// billing's Item* constants).
var commonItems = [...]string{"input", "cached_input", "cache_write", "output", "images", "minimum"}

// itemName returns b as a string without allocating when it is one of the
// common names.
func itemName(b []byte) string {
	for _, s := range commonItems {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}
