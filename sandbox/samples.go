package sandbox

import (
	"sync"

	"github.com/baoguan/baoguan"
)

// SampleIdentity is a payer printed as an example in one of the vendor
// documents baoguan serves. Merchants copy these examples into their first
// test requests, so the sandbox answers them as the documents show, even
// though most of the numbers are made up and fail the GB 11643 check.
type SampleIdentity struct {
	IDNumber string // matched, after trimming and upper-casing
	Name     string // as printed; informative only, never matched
	Source   string // seed document and where in it the example appears
	// State is the customs outcome the sandbox gives: SUCCESS unless the
	// document shows something else.
	State       baoguan.DeclState
	Explanation string // customs' explanation for a FAIL or EXCEPT
}

// SampleIdentities lists the example payers of the seed documents (see
// docs/sandbox.md). Only the ID number is matched: the documents pair the
// same number with different names (310113198010101234 is 张三 in one place
// and the 7.1 number 110113198010101234 is 李白), and a rule keyed on both
// would make copied examples fail for no reason a merchant could see.
// Masked examples (payzero's 赵XX 21080219930XXXX3X) are left out: they are
// not numbers anyone can send.
var SampleIdentities = []SampleIdentity{
	{IDNumber: "310113198010101234", Name: "张三", State: baoguan.DeclSuccess,
		Source: "payzero (003_ceef0662365b1fb8.txt): order field tables (§2.1, §2.6, §4.1, §5.3, §6.1, §8.1), §5.1 idno and the §6.1 createAndMockpay request example"},
	{IDNumber: "310327198009270027", Name: "李白", State: baoguan.DeclSuccess,
		Source: "payzero (003_ceef0662365b1fb8.txt): request examples of §2.1, §2.6, §4.1 and §5.3"},
	{IDNumber: "360104199010101234", Name: "杜甫", State: baoguan.DeclSuccess,
		Source: "payzero (003_ceef0662365b1fb8.txt): §2.1 order batch request example, second order"},
	{IDNumber: "110113198010101234", Name: "李白", State: baoguan.DeclSuccess,
		Source: "payzero (003_ceef0662365b1fb8.txt): §7.1 real-name check example"},
	{IDNumber: "610327198509271234", Name: "周Xx", State: baoguan.DeclFail, Explanation: ExplainNameMismatch,
		Source: "payzero (003_ceef0662365b1fb8.txt): §2.4 order feedback example, DECLARE_FAILED 支付人姓名和证件号不匹配"},
	{IDNumber: "32068119891142120001", Name: "张三", State: baoguan.DeclSuccess,
		Source: "pushorder (000_02fe3477f5d217a8.txt): §2.1 PushOrder request example, ReceiverCardNo"},
	{IDNumber: "510921199308772318", Name: "Lisa", State: baoguan.DeclSuccess,
		Source: "wisecashier (002_a1869d9c97a45282.txt): §9.1 WeChat and §9.4–9.6 Alipay declaration examples, cert_id/name"},
	{IDNumber: "330821198809085211", Name: "张三", State: baoguan.DeclSuccess,
		Source: "wechatv3 (004_0ded8097a1edc578.txt): customs order query request example, certificate_id/certificate_name"},
}

// lookupSample compares ID numbers as baoguan.SamePerson does.
// Every sandbox declaration asks, so the samples' numbers are normalised
// once, not at each call.
func lookupSample(id string) (SampleIdentity, bool) {
	i, ok := sampleIndex()[baoguan.NormalizeID(id)]
	if !ok {
		return SampleIdentity{}, false
	}
	return SampleIdentities[i], true
}

// sampleIndex maps each sample's normalised ID number to its place in
// SampleIdentities (the first, should two normalise alike).
var sampleIndex = sync.OnceValue(func() map[string]int {
	m := make(map[string]int, len(SampleIdentities))
	for i, s := range SampleIdentities {
		if _, dup := m[baoguan.NormalizeID(s.IDNumber)]; !dup {
			m[baoguan.NormalizeID(s.IDNumber)] = i
		}
	}
	return m
})

// IsSampleIdentity reports whether id is one of SampleIdentities. The core's
// pre-declaration check uses it to let document examples through to the
// sandbox port, which then answers them as listed; live declarations must
// not use it.
func IsSampleIdentity(id string) bool {
	_, ok := lookupSample(id)
	return ok
}
