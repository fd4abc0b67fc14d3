package filing_test

import (
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestGuidance(t *testing.T) {
	person := filing.Person{Name: "张三", IDType: filing.Passport, IDNumber: "E12345678", IDValidUntil: filing.LongTerm}
	order := func(st filing.SubjectType, prov string, registered bool) *filing.Order {
		return &filing.Order{SubjectType: st, Province: prov, SubjectLeader: person, WebsiteLeader: person, DomainRegisteredHere: registered}
	}
	tests := []struct {
		name    string
		o       *filing.Order
		slot    filing.Slot
		want    []string
		notWant []string
	}{
		{"ID: colour original, complete, valid", order(filing.Individual, "CN-BJ", false), filing.SlotSubjectLeaderIDFront,
			[]string{"护照人像页", "原件", "彩色", "完整", "有效期内"}, nil},
		{"face: neat, white background", order(filing.Individual, "CN-GD", false), filing.SlotFacePhoto,
			[]string{"穿戴整齐", "以白色物体为背景"}, nil},
		{"form: black pen and the Guangdong commitment", order(filing.Individual, "CN-GD", false), filing.SlotVerificationForm,
			[]string{"黑色签字笔", filing.GuangdongCommitment}, []string{"公章", "手印"}},
		{"form: Jiangxi fingerprint", order(filing.Individual, "CN-JX", false), filing.SlotVerificationForm,
			[]string{"黑色签字笔", "手印"}, []string{"公章", "本人已履行"}},
		{"form: Xinjiang fingerprint", order(filing.Individual, "CN-XJ", false), filing.SlotVerificationForm,
			[]string{"手印"}, []string{"公章"}},
		{"form: organization seal everywhere", order(filing.Organization, "CN-GD", false), filing.SlotVerificationForm,
			[]string{"黑色签字笔", "公章"}, []string{"手印", "本人已履行"}},
		{"domain certificate registered here", order(filing.Individual, "CN-BJ", true), filing.SlotDomainCertificate,
			[]string{"域名控制台", "域名证书打印"}, nil},
		{"domain certificate elsewhere", order(filing.Individual, "CN-BJ", false), filing.SlotDomainCertificate,
			[]string{"注册商"}, []string{"域名控制台"}},
		{"supplementary: PC, combined with the certificate", order(filing.Organization, "CN-BJ", false), filing.SlotSupplementary,
			[]string{"电脑端", "拼成一张图片"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := filing.Guidance(tt.o, tt.slot)
			for _, w := range tt.want {
				if !strings.Contains(g, w) {
					t.Errorf("guidance %q lacks %q", g, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(g, w) {
					t.Errorf("guidance %q has %q", g, w)
				}
			}
		})
	}
	// Every slot an order lists carries guidance.
	o := order(filing.Organization, "CN-GD", true)
	o.UploadMethod = filing.MethodApp
	for _, r := range o.Requirements(nil) {
		if r.GuidanceZh == "" {
			t.Errorf("slot %s has no guidance", r.Slot)
		}
	}
}
