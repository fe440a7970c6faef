package core

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/baoguan/baoguan"
)

// Automatic payment (mode auto, payzero §2) pays a merchant's orders from
// the bank cards the merchant bound for it, in the "funding" (垫资) mode
// agreed at onboarding. Before it schedules payments it checks those cards:
// none bound (50001), none with a signed agreement (50010), or recorded
// balances that cannot cover the orders (50056). The money itself is then
// taken from the funding account (Merchant.FundingBalance in the sandbox),
// which plays the part of the cards' real balance: when it is short, the
// order's payment fails, as payzero's 2.7 describes.

// Reasons of the automatic-payment funding errors, which payzero answers
// with its codes 50001, 50010, 50054 and 50056.
const (
	ReasonNoCard           = "no_card"            // 50001
	ReasonNoSignedCard     = "no_signed_card"     // 50010
	ReasonNothingToPay     = "nothing_to_pay"     // 50054 (from PayBatch)
	ReasonCardBalanceShort = "card_balance_short" // 50056
	ReasonFundingShort     = "funding_short"      // 50056 (from PayBatch)
)

// FundingCards returns the merchant's funding cards. A sandbox merchant
// that never recorded any pays from its sandbox funding account, shown as
// one signed card of the test bank whose balance is the account's.
func (s *Service) FundingCards(ctx context.Context, m *baoguan.Merchant) (baoguan.FundingCards, error) {
	var f baoguan.FundingCards
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		f, err = fundingCardsTx(tx, m.ID)
		return err
	})
	return f, err
}

func fundingCardsTx(tx baoguan.Tx, merchantID int64) (baoguan.FundingCards, error) {
	f, err := tx.FundingCards(merchantID)
	if err != nil || f.Recorded {
		return f, err
	}
	if f, ok, err := legacyFundingCards(tx, merchantID); err != nil || ok {
		return f, err
	}
	m, err := tx.Merchant(merchantID)
	if err != nil {
		return f, err
	}
	if m.Mode == baoguan.ModeSandbox {
		f.Cards = []baoguan.FundingCard{{BankCode: baoguan.TestBankCode, AcctName: m.Name, Signed: true, Balance: m.FundingBalance}}
	}
	return f, nil
}

// legacyFundingCards reads the cards an earlier version of baoguan kept
// sealed in the settings table ("payzero.cards.<merchant id>"), until the
// merchant's cards are recorded again (ReplaceFundingCards), which moves
// them to their table.
func legacyFundingCards(tx baoguan.Tx, merchantID int64) (baoguan.FundingCards, bool, error) {
	var f baoguan.FundingCards
	v, err := tx.Setting("payzero.cards." + strconv.FormatInt(merchantID, 10))
	if baoguan.ErrorCode(err) == baoguan.ENOTFOUND {
		return f, false, nil
	}
	if err != nil {
		return f, false, err
	}
	var old struct {
		Cards []baoguan.FundingCard `json:"cards"`
	}
	if err := json.Unmarshal([]byte(v), &old); err != nil {
		return f, false, err
	}
	f.Cards, f.Recorded = old.Cards, true
	return f, true, nil
}

// ReplaceFundingCards records the merchant's funding cards, replacing the
// earlier list (payzero's console, B.1; an operator's `baoguan merchant
// cards`). An empty list means "no card": automatic payment then answers
// 50001. Errors: EINVALID naming the card field.
func (s *Service) ReplaceFundingCards(ctx context.Context, m *baoguan.Merchant, cards []baoguan.FundingCard) (baoguan.FundingCards, error) {
	if len(cards) > MaxFundingCards {
		return baoguan.FundingCards{}, &baoguan.Error{Code: baoguan.EINVALID, Field: "cards", Reason: "too_many_cards",
			Message: "a merchant records at most " + strconv.Itoa(MaxFundingCards) + " funding cards, got " + strconv.Itoa(len(cards))}
	}
	f := baoguan.FundingCards{Cards: make([]baoguan.FundingCard, 0, len(cards)), Recorded: true}
	for i, c := range cards {
		field := "cards[" + strconv.Itoa(i) + "]"
		if _, ok := baoguan.BankCodes[c.BankCode]; !ok {
			return f, &baoguan.Error{Code: baoguan.EINVALID, Field: field + ".bank_code", Reason: "bad_bank_code",
				Message: field + ".bank_code " + c.BankCode + " is not a known bank code (payzero appendix A.5)"}
		}
		no, err := baoguan.CheckCardNo(field+".acct_no", c.AcctNo)
		if err != nil {
			return f, err
		}
		c.AcctNo = no
		c.AcctName = strings.TrimSpace(c.AcctName)
		if c.AcctName == "" {
			return f, baoguan.FieldError(field+".acct_name", "%s.acct_name is required", field)
		}
		if err := baoguan.CheckAmount(field+".balance", c.Balance); err != nil {
			return f, err
		}
		f.Cards = append(f.Cards, c)
	}
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		f.UpdatedAt = tx.Now()
		return tx.ReplaceFundingCards(m.ID, f.Cards)
	})
	return f, err
}

// MaxFundingCards is how many funding cards a merchant may record. A
// merchant funds automatic payment from a few bank accounts; the bound
// also keeps the sum of their balances far from overflowing.
const MaxFundingCards = 100

// checkFunding applies payzero's funding rules to an amount about to be
// scheduled for automatic payment; needOverflow says the amount itself
// overflowed while it was summed (it then exceeds every balance).
func checkFunding(f baoguan.FundingCards, need int64, needOverflow bool) error {
	if len(f.Cards) == 0 {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNoCard,
			Message: "未找到支持的银行卡和协议，可能与垫资模式的设置不正确有关"}
	}
	var balances []int64
	for _, c := range f.Cards {
		if c.Signed {
			balances = append(balances, c.Balance)
		}
	}
	if len(balances) == 0 {
		return &baoguan.Error{Code: baoguan.ESTATE, Reason: ReasonNoSignedCard, Message: "未找到已签约的银行卡进行支付"}
	}
	// Balances recorded by an earlier version were not bounded: a sum
	// that overflows covers any need, and is shown as the maximum.
	balance, ok := baoguan.SumAmounts(balances...)
	if !ok {
		balance = math.MaxInt64
	}
	if needOverflow || balance < need {
		return &baoguan.Error{Code: baoguan.EINSUFFICIENT, Reason: ReasonCardBalanceShort,
			Message: "系统记录的银行卡当前额度可能无法支持支付本批次订单，请增加系统内银行卡额度并确保实际资金与额度大致匹配（记录余额 " +
				amountText(balance, !ok) + " 元，需支付 " + amountText(need, needOverflow) + " 元）"}
	}
	return nil
}

// PayBatchFromCards triggers automatic payment of a batch (payzero 2.2):
// in one transaction, it checks the merchant's funding cards against the
// orders still to pay and schedules them as PayBatch does. It returns how
// many orders were scheduled. Errors: ENOTFOUND (batch); ESTATE reason
// no_card (50001), no_signed_card (50010) or nothing_to_pay (50054);
// EINSUFFICIENT reason card_balance_short or funding_short (50056).
func (s *Service) PayBatchFromCards(ctx context.Context, m *baoguan.Merchant, id int64) (int, error) {
	n := 0
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		b, err := visibleBatch(tx, m.ID, id)
		if err != nil {
			return err
		}
		n, err = s.payBatchTx(tx, q, m, b, true)
		return err
	})
	return n, err
}

// CreateOrderPaidFromCards creates one order for automatic payment
// (payzero 2.6): validated first, then the merchant's funding cards are
// checked against its amount, then it is stored with its pay job. Errors:
// those of CreateOrder, and the funding errors of PayBatchFromCards
// (50001, 50010, 50056).
func (s *Service) CreateOrderPaidFromCards(ctx context.Context, m *baoguan.Merchant, in OrderInput) (*baoguan.Order, bool, error) {
	in.Order.Channel = baoguan.ChannelAuto
	if _, err := s.prepareOrder(m, &in); err != nil {
		return nil, false, err
	}
	f, err := s.FundingCards(ctx, m)
	if err != nil {
		return nil, false, err
	}
	if err := checkFunding(f, in.Order.Amount, false); err != nil {
		return nil, false, err
	}
	return s.CreateOrder(ctx, m, in)
}
