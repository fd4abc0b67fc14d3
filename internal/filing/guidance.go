package filing

// Guidance is the Chinese advice for taking a slot's picture, from the source document,
// made specific to the order (its province, subject type and domains); a slot whose advice
// does not depend on the order gives its GuidanceZh.
func Guidance(o *Order, s Slot) string {
	switch s {
	case SlotSubjectLeaderIDFront:
		return "主体负责人" + o.SubjectLeader.IDType.LabelZh() + frontSide(o.SubjectLeader.IDType) + "：" + idAdvice
	case SlotSubjectLeaderIDBack:
		return "主体负责人" + o.SubjectLeader.IDType.LabelZh() + "反面：" + idAdvice
	case SlotWebsiteLeaderIDFront:
		return "网站负责人" + o.WebsiteLeader.IDType.LabelZh() + frontSide(o.WebsiteLeader.IDType) + "：" + idAdvice
	case SlotWebsiteLeaderIDBack:
		return "网站负责人" + o.WebsiteLeader.IDType.LabelZh() + "反面：" + idAdvice
	case SlotVerificationForm:
		return "请在电脑端下载真实性核验单，打印后用黑色签字笔填写，" + FormRequirement(o) + "填写完成后拍照或扫描上传，保证整页完整清晰。"
	case SlotDomainCertificate:
		if o.DomainRegisteredHere {
			return "域名在本平台注册：登录域名控制台，单击域名名称进入域名详情页面，再单击“域名证书打印”下载域名证书后上传。"
		}
		return "请向域名注册商获取域名证书后上传（证书持有者应与备案主体一致）。"
	}
	// The rest says the same for every order.
	return s.GuidanceZh()
}

func frontSide(t IDType) string {
	if t == Passport {
		return "人像页"
	}
	return "正面"
}

// GuangdongCommitment is the text a Guangdong individual handwrites on the verification
// form, quoted in full from the source document.
const GuangdongCommitment = "本人已履行网站备案信息当面核验手续，承认网站备案信息和核验记录真实有效，承诺本网站是个人网站，未含企业、单位等非个人网站的信息，承诺网站备案信息一旦发生变更，将及时进行更新，填报虚假备案信息、未履行备案变更手续、超出备案项目提供服务的，愿承担关闭网站并注销备案（列黑名单）等相应处理。"
