"""Generate the bundled demo tickets (demo/tickets.csv, demo/out_of_scope.csv).

Written by the project, from hand-written building blocks below; no row comes from any dataset.
Seeded: running it again rewrites byte-identical files.

    .venv/bin/python demo/generate_tickets.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261123
PER_CATEGORY_LANGUAGE = 64
LABEL_NOISE = 0.02

# category -> language -> (subjects, problem sentences, base urgency)
CATEGORIES: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "account/access": {
        "en": (["Can't log in", "Password reset not working", "Account locked", "2FA code never arrives", "Login problem"],
               ["I can't log in to my account, it says the password is wrong even after a reset.",
                "The password reset email never arrives, I checked spam too.",
                "My account got locked after three attempts and I need access today.",
                "The verification code by SMS never comes, so I'm stuck at the 2FA screen.",
                "After changing my phone the authenticator app codes are rejected.",
                "Login loops back to the sign-in page every time I enter my credentials.",
                "I forgot my username and the recovery form does not accept my email.",
                "SSO login fails with error AUTH-401 since this morning.",
                "The reset link says it has expired even though I clicked it right away.",
                "I was logged out and now it asks for security questions I never set.",
                "My colleague left and we need to transfer the admin account to me.",
                "Captcha keeps failing on the login page, I can't get in."]),
        "zh": (["登录不上", "密码重置失败", "账号被锁定", "收不到验证码", "账号无法登录"],
               ["我的账号登录不上，一直提示密码错误，重置之后也不行。",
                "点了忘记密码，但是重置邮件一直收不到，垃圾箱也看了。",
                "输错三次密码后账号被锁定了，今天急着要用。",
                "手机收不到短信验证码，卡在二次验证页面。",
                "换了手机以后，身份验证器的动态码一直提示无效。",
                "输入账号密码后又跳回登录页面，反复循环。",
                "忘记了用户名，找回账号时邮箱提示不存在。",
                "今天早上开始单点登录SSO报错 AUTH-401。",
                "重置密码的链接点开就提示已过期。",
                "被强制退出后要求回答安全问题，可我从来没设置过。",
                "同事离职了，需要把管理员账号转给我。",
                "登录页面的验证码一直验证失败，进不去系统。"]),
    },
    "billing/payment": {
        "en": (["Payment failed", "Charged twice", "Card declined", "Wrong amount charged", "Payment issue"],
               ["My card was declined at checkout although it works everywhere else.",
                "I was charged twice for the same order, please check.",
                "The payment failed with error PAY-502 but the money left my account.",
                "You charged me the wrong amount, the plan should be cheaper.",
                "The subscription renewal payment did not go through.",
                "PayPal payment keeps failing at the last step.",
                "My bank shows a pending charge I don't recognise from you.",
                "I paid the invoice by bank transfer but the account still shows unpaid.",
                "Apple Pay is not offered anymore on the payment page.",
                "The discount code was accepted but the full price was charged.",
                "My payment was taken but the order status says payment pending.",
                "Auto-renewal charged my old card which I cancelled."]),
        "zh": (["支付失败", "重复扣款", "银行卡被拒", "扣款金额不对", "付款问题"],
               ["结账时银行卡被拒绝了，可是这张卡在别处都能用。",
                "同一个订单被扣了两次钱，请帮忙核实。",
                "支付提示失败，错误码 PAY-502，但是钱已经扣了。",
                "扣款金额不对，我的套餐应该更便宜。",
                "自动续费没有扣款成功。",
                "用支付宝付款一直失败，到最后一步就报错。",
                "银行账单里有一笔不认识的扣款，显示是你们公司的。",
                "我已经银行转账付款了，系统还显示未支付。",
                "微信支付的选项在付款页面不见了。",
                "优惠码显示已使用，可还是按原价扣的钱。",
                "钱已经扣了，订单状态还显示待支付。",
                "自动续费扣了我已经注销的旧卡。"]),
    },
    "billing/refund": {
        "en": (["Refund request", "Where is my refund", "Refund not received", "Money back please", "Cancel and refund"],
               ["I returned the item two weeks ago and still have no refund.",
                "Please refund my order, I cancelled it within the trial period.",
                "You promised a refund in 5 days, it has been a month.",
                "I want my money back for the annual plan I never used.",
                "The refund went to an old card, how do I get it?",
                "Only part of the amount was refunded, shipping was not included.",
                "How long does a refund to PayPal take?",
                "I was told the refund was approved but nothing arrived.",
                "Please cancel my subscription and refund the last charge.",
                "The product arrived broken and I would like a full refund.",
                "Refund status shows processing for three weeks now.",
                "Can I get a refund instead of store credit?"]),
        "zh": (["申请退款", "退款什么时候到账", "退款没收到", "要求退钱", "取消订单并退款"],
               ["两周前就退货了，到现在还没收到退款。",
                "订单在试用期内取消了，请给我退款。",
                "说好5天内退款，现在都一个月了。",
                "年费会员一次没用过，想申请退款。",
                "退款退到了旧银行卡上，怎么才能拿到？",
                "只退了一部分钱，运费没有退。",
                "退款到支付宝一般要多久？",
                "客服说退款已经审核通过，可是一直没到账。",
                "请帮我取消订阅，并退还最后一次扣款。",
                "收到的商品是坏的，我要求全额退款。",
                "退款状态显示处理中已经三周了。",
                "能不能直接退款，不要给我优惠券？"]),
    },
    "billing/invoice": {
        "en": (["Invoice request", "Need a receipt", "VAT invoice", "Wrong company name on invoice", "Invoice copy"],
               ["Could you send me the invoice for my March order?",
                "I need a receipt with our VAT number for accounting.",
                "The company name on the invoice is wrong, please correct it.",
                "Where can I download past invoices in the portal?",
                "Please issue the invoice to our new billing address.",
                "Our finance team needs a PDF invoice for order ORD-20931.",
                "Can you split the invoice between two cost centers?",
                "The invoice shows the wrong tax rate.",
                "I need a duplicate of the invoice, the original was lost.",
                "Can invoices be emailed automatically to accounts@ our domain?",
                "Please add the PO number to the invoice.",
                "The invoice total does not match the amount charged."]),
        "zh": (["开发票", "需要收据", "增值税专用发票", "发票抬头错误", "补开发票"],
               ["请帮我开一下三月份订单的发票。",
                "财务报销需要带税号的收据。",
                "发票抬头写错了，麻烦重新开。",
                "在哪里可以下载以前的电子发票？",
                "发票请寄到我们新的开票地址。",
                "财务需要订单 ORD-20931 的PDF发票。",
                "能不能把发票分开开给两个部门？",
                "发票上的税率不对。",
                "原来的发票丢了，需要补开一张。",
                "能否每月自动把电子发票发到财务邮箱？",
                "麻烦在发票上加上采购单号。",
                "发票金额和实际扣款金额对不上。"]),
    },
    "repair/network": {
        "en": (["VPN not connecting", "Wifi keeps dropping", "No internet", "Network very slow", "Connection problem"],
               ["The VPN client 5.2 fails to connect with error E1043.",
                "Wifi in the office keeps dropping every few minutes.",
                "I have no internet on my laptop although others are fine.",
                "The network is extremely slow when I upload files.",
                "VPN connects but I cannot reach the internal share.",
                "Ethernet port at my desk seems dead.",
                "DNS does not resolve our intranet addresses from home.",
                "The router in meeting room 3 shows a red light.",
                "Remote desktop disconnects as soon as the VPN reconnects.",
                "Packet loss on video calls makes them unusable.",
                "The guest wifi password does not work anymore.",
                "My IP address conflicts with another device."]),
        "zh": (["VPN连不上", "WiFi老是断", "没有网络", "网速很慢", "网络故障"],
               ["VPN客户端5.2连接失败，报错 E1043。",
                "办公室的WiFi每隔几分钟就断一次。",
                "我的电脑上不了网，别人的都正常。",
                "上传文件的时候网速特别慢。",
                "VPN连上了，但是访问不了内部共享盘。",
                "工位上的网线口好像坏了。",
                "在家里解析不了公司内网的域名。",
                "3号会议室的路由器亮红灯。",
                "VPN一重连，远程桌面就断开。",
                "视频会议丢包严重，根本没法用。",
                "访客WiFi的密码不能用了。",
                "我的IP地址和别的设备冲突了。"]),
    },
    "repair/hardware": {
        "en": (["Laptop broken", "Printer not working", "Screen flickering", "Keyboard issue", "Hardware fault"],
               ["My laptop does not turn on anymore after the update.",
                "The printer on floor 2 shows paper jam but there is no paper stuck.",
                "My external monitor flickers constantly.",
                "Several keys on my keyboard stopped working.",
                "The battery drains within an hour.",
                "The docking station does not detect my monitors.",
                "The scanner makes a loud noise and stops.",
                "My headset microphone is not recognised.",
                "The laptop overheats and shuts down.",
                "The printer prints blank pages.",
                "Cracked screen after the laptop fell, need a replacement.",
                "The mouse pointer jumps around by itself."]),
        "zh": (["电脑坏了", "打印机不能用", "屏幕闪烁", "键盘故障", "硬件故障"],
               ["笔记本更新之后就开不了机了。",
                "二楼打印机提示卡纸，可是里面没有纸。",
                "外接显示器一直闪屏。",
                "键盘上好几个键按了没反应。",
                "电池一个小时就没电了。",
                "扩展坞识别不到显示器。",
                "扫描仪发出很大的噪音然后停止工作。",
                "耳机麦克风识别不到。",
                "笔记本过热自动关机。",
                "打印机打出来都是白纸。",
                "电脑摔了一下屏幕裂了，需要更换。",
                "鼠标指针自己乱跳。"]),
    },
    "repair/software": {
        "en": (["App crashes", "Error message", "Update failed", "Bug report", "Software not working"],
               ["The mobile app crashes right after the splash screen.",
                "Excel shows error 0x80070005 when I save to the shared drive.",
                "The update to version 3.4 failed and now the app won't start.",
                "The export button does nothing in Chrome.",
                "The desktop client freezes when I open large reports.",
                "Outlook keeps asking for my password.",
                "The app shows a blank white page after login.",
                "Notifications stopped working after the last release.",
                "I get 'Unexpected error E2201' when uploading an attachment.",
                "Search results in the app are empty although data exists.",
                "The Android app drains the battery in the background.",
                "Dark mode makes some buttons invisible."]),
        "zh": (["APP闪退", "软件报错", "更新失败", "发现bug", "软件无法使用"],
               ["手机APP一打开就闪退。",
                "Excel保存到共享盘时报错 0x80070005。",
                "升级到3.4版本失败，现在软件打不开了。",
                "在Chrome里点导出按钮没有任何反应。",
                "打开大的报表时客户端就卡死。",
                "Outlook一直弹窗要求输入密码。",
                "登录后APP显示一片空白。",
                "上个版本更新后收不到消息通知了。",
                "上传附件时提示“意外错误 E2201”。",
                "APP里搜索不到结果，其实数据是有的。",
                "安卓APP在后台特别耗电。",
                "开了深色模式之后有些按钮看不见。"]),
    },
    "service/outage": {
        "en": (["Service down", "Outage", "Site unreachable", "System down for all users", "Everything is down"],
               ["The whole platform is down for all users in our company.",
                "Your website returns 503 for everyone since 9:00.",
                "Production is down, none of our stores can process orders.",
                "The API has been timing out for all customers for an hour.",
                "Nobody in the office can reach the portal, this is an outage.",
                "Checkout is broken for all users, we are losing sales.",
                "The dashboard is unreachable in all regions.",
                "All our integrations stopped syncing at once.",
                "Email service is down company-wide.",
                "The login service is down for every user right now.",
                "Database errors on every page, the system is unusable.",
                "Mobile and web apps are both down at the same time."]),
        "zh": (["系统崩溃", "服务中断", "网站打不开", "全部用户无法访问", "平台宕机"],
               ["整个平台崩溃了，公司所有用户都用不了。",
                "你们的网站从9点开始对所有人返回503。",
                "生产系统宕机，所有门店都下不了单。",
                "接口对所有客户超时已经一个小时了。",
                "办公室所有人都打不开门户网站，服务中断了。",
                "所有用户都无法结账，我们在损失订单。",
                "所有地区的控制台都访问不了。",
                "所有的系统对接同时停止同步了。",
                "全公司的邮件服务都瘫痪了。",
                "现在所有用户都登录不了，登录服务挂了。",
                "每个页面都报数据库错误，系统完全不能用。",
                "手机端和网页端同时宕机。"]),
    },
    "delivery/shipping": {
        "en": (["Where is my order", "Package not delivered", "Late delivery", "Wrong address", "Shipping status"],
               ["My order ORD-48213 was supposed to arrive last week.",
                "Tracking says delivered but I never got the package.",
                "The parcel has been stuck in customs for ten days.",
                "I entered the wrong shipping address, can you change it?",
                "The courier left the package at the wrong building.",
                "Only half of my order arrived.",
                "Can I upgrade to express shipping?",
                "The tracking number does not work on the courier site.",
                "The package arrived damaged and wet.",
                "When will the backordered item ship?",
                "I need the delivery before Friday, is that possible?",
                "I received someone else's order."]),
        "zh": (["我的订单到哪了", "快递没收到", "物流太慢", "地址填错了", "发货进度"],
               ["订单 ORD-48213 上周就应该到了。",
                "物流显示已签收，可是我根本没收到包裹。",
                "包裹卡在海关十天了。",
                "收货地址填错了，能帮我改一下吗？",
                "快递员把包裹送到了别的楼。",
                "订单只到了一半的商品。",
                "可以改成加急配送吗？",
                "快递单号在快递公司网站上查不到。",
                "收到的包裹是破的，还湿了。",
                "缺货的商品什么时候能发货？",
                "周五之前一定要收到，能做到吗？",
                "我收到了别人的订单。"]),
    },
    "inquiry/product": {
        "en": (["Question about features", "How do I", "Pricing question", "Product inquiry", "Plan comparison"],
               ["How do I export my data to CSV?",
                "Does the Pro plan include API access?",
                "What is the difference between the Team and Business plans?",
                "Can I add more users to my plan later?",
                "Is there a mobile app for iPad?",
                "How do I set up automatic backups?",
                "Do you offer a discount for non-profits?",
                "Which browsers are supported?",
                "Can I integrate the product with Slack?",
                "How many projects can I create on the free tier?",
                "Is my data stored in the EU?",
                "How do I change the language of the interface?"]),
        "zh": (["功能咨询", "如何使用", "价格咨询", "产品咨询", "套餐对比"],
               ["怎么把数据导出成CSV？",
                "专业版包含API接口吗？",
                "团队版和企业版有什么区别？",
                "以后可以再给套餐加用户吗？",
                "有iPad版的APP吗？",
                "怎么设置自动备份？",
                "非营利组织有优惠吗？",
                "支持哪些浏览器？",
                "可以和企业微信集成吗？",
                "免费版最多能建几个项目？",
                "我们的数据存在国内服务器吗？",
                "界面语言怎么切换？"]),
    },
    "complaint/service": {
        "en": (["Complaint about support", "Terrible service", "Rude agent", "Nobody answers", "Formal complaint"],
               ["Your support agent was rude and hung up on me.",
                "I have been waiting a week for any answer from support.",
                "Every agent tells me something different, this is chaos.",
                "I want to file a formal complaint about how my case was handled.",
                "Your hotline keeps me on hold for 40 minutes every time.",
                "Nobody follows up after promising to call back.",
                "The technician did not show up for the appointment.",
                "I was transferred five times and still have no solution.",
                "Your chat bot is useless and there is no way to reach a human.",
                "The service quality has gone down a lot this year.",
                "I was promised compensation and never received it.",
                "Closing my ticket without solving it is not acceptable."]),
        "zh": (["投诉客服", "服务太差", "客服态度恶劣", "没人回复", "正式投诉"],
               ["你们的客服态度很差，还直接挂我电话。",
                "等了一周客服都没有任何回复。",
                "每个客服说法都不一样，太混乱了。",
                "我要正式投诉我的问题处理过程。",
                "热线每次都要等40分钟。",
                "答应回电话，之后就再也没人联系我。",
                "约好的上门维修师傅没有来。",
                "被转接了五次，问题还是没解决。",
                "智能客服根本没用，也找不到人工。",
                "今年的服务质量下降太多了。",
                "答应的补偿到现在也没给。",
                "问题没解决就把工单关了，不能接受。"]),
    },
}

BASE_URGENCY = {
    "account/access": "P3", "billing/payment": "P2", "billing/refund": "P3", "billing/invoice": "P4",
    "repair/network": "P3", "repair/hardware": "P3", "repair/software": "P3", "service/outage": "P1",
    "delivery/shipping": "P3", "inquiry/product": "P4", "complaint/service": "P3",
}  # fmt: skip
TONES = {  # tone -> language -> (openers, closers), with the sentiment it carries
    "calm": {"en": (["Hello,", "Hi team,", "Good morning,", ""], ["Thanks.", "Regards.", "Best,", ""]),
             "zh": (["你好，", "您好，", "", "麻烦问一下，"], ["谢谢。", "辛苦了。", "", "麻烦尽快处理。"])},
    "frustrated": {"en": (["Hi,", "Again:", "Still waiting.", ""],
                          ["This is really frustrating.", "Please fix this, it blocks my work.", "Not happy."]),
                   "zh": (["又是这个问题，", "你好，", ""], ["真的很影响工作。", "请尽快解决。", "太让人失望了。"])},
    "angry": {"en": (["This is the third time I write!!", "UNACCEPTABLE.", "I am furious."],
                     ["Fix it now or I cancel.", "Worst service ever!!", "I will contact my lawyer."]),
              "zh": (["这已经是第三次了！！", "太过分了！", "气死我了，"], ["再不解决我就投诉！", "垃圾服务！！", "忍无可忍，马上给我处理！"])},
    "positive": {"en": (["Hi there, love the product!", "Hello, thanks for the great service so far."],
                        ["Thanks a lot, great support!", "Appreciate your help, you are awesome."]),
                 "zh": (["你们的产品很好用，", "一直很满意你们的服务，"], ["非常感谢！", "谢谢，服务很棒！"])},
}  # fmt: skip
TONE_SENTIMENT = {"calm": "neutral", "frustrated": "negative", "angry": "negative", "positive": "positive"}
TONE_WEIGHTS = {"calm": 0.45, "frustrated": 0.25, "angry": 0.15, "positive": 0.15}
URGENT_PHRASES = {"en": ["URGENT:", "Urgent - please help asap.", "We need this fixed immediately."],
                  "zh": ["紧急！", "很紧急，请马上处理。", "急！"]}  # fmt: skip
DETAILS = {"en": ["Order ORD-{n}.", "Customer id C-{n}.", "Happened on my Windows 11 laptop.", "On iPhone 15.",
                  "Screenshot attached.", "Since yesterday evening.", "Reference #{n}."],
           "zh": ["订单号 ORD-{n}。", "客户编号 C-{n}。", "用的是Windows 11笔记本。", "手机是iPhone 15。",
                  "截图已附上。", "从昨天晚上开始的。", "工单号 #{n}。"]}  # fmt: skip
LEVELS = ["P1", "P2", "P3", "P4"]

OUT_OF_SCOPE = {
    "en": ["I would like to apply for the marketing manager job, CV attached.", "What's the weather in Berlin tomorrow?",
           "Can you recommend a good recipe for lasagna?", "Congratulations! You won a free cruise, click here.",
           "Who won the football match yesterday?", "Please write me a poem about autumn.",
           "Is it better to buy or rent a house?", "My cat is sneezing, what should I do?",
           "Tell me a joke about programmers.", "What is the capital of Australia?",
           "Looking for a partner for our charity run next month.", "How many calories are in a banana?",
           "Cheap watches and bags, best prices, visit our shop!", "What time does the cinema open on Sunday?",
           "Can you help me with my math homework?"],
    "zh": ["我想应聘贵公司的市场经理职位，简历已附上。", "明天北京天气怎么样？", "推荐一个红烧肉的做法吧。",
           "恭喜您中奖了，点击链接领取豪华游轮旅行！", "昨天的足球比赛谁赢了？", "帮我写一首关于秋天的诗。",
           "买房好还是租房好？", "我家猫一直打喷嚏怎么办？", "讲个程序员的笑话。", "澳大利亚的首都是哪里？",
           "下个月的公益跑步活动找搭档。", "一根香蕉有多少卡路里？", "低价名表名包，欢迎光临小店！",
           "周日电影院几点开门？", "能帮我辅导一下数学作业吗？"],
}  # fmt: skip


def _urgency(category: str, tone: str, tier: str, urgent: bool, rng: random.Random) -> str:
    level = LEVELS.index(BASE_URGENCY[category])
    if urgent:
        level -= 1
    if tone == "angry" and tier == "vip":
        level -= 1
    if rng.random() < 0.1:  # real tickets are not perfectly consistent
        level += rng.choice([-1, 1])
    return LEVELS[min(max(level, 0), 3)]


def _ticket(rng: random.Random, category: str, language: str, number: int) -> dict[str, str]:
    subjects, problems = CATEGORIES[category][language]
    tone = rng.choices(list(TONE_WEIGHTS), weights=list(TONE_WEIGHTS.values()))[0]
    openers, closers = TONES[tone][language]
    parts = [rng.choice(openers)]
    urgent = rng.random() < 0.15
    if urgent:
        parts.append(rng.choice(URGENT_PHRASES[language]))
    parts.append(rng.choice(problems))
    if rng.random() < 0.5:  # longer, email-style tickets carry a second problem sentence or details
        second = rng.choice(problems)
        if second not in parts:
            parts.append(second)
    for _ in range(rng.choice([0, 1, 1, 2])):
        parts.append(rng.choice(DETAILS[language]).format(n=rng.randint(10000, 99999)))
    parts.append(rng.choice(closers))
    joiner = " " if language == "en" else ""
    body = joiner.join(p for p in parts if p).strip()
    tier = "vip" if rng.random() < 0.2 else "standard"
    labelled = category
    if rng.random() < LABEL_NOISE:
        labelled = rng.choice(sorted(CATEGORIES))
    return {
        "ticket_id": f"DEMO-{number:05d}",
        "subject": rng.choice(subjects) if rng.random() < 0.85 else "",
        "body": body,
        "language": language,
        "category": labelled,
        "urgency": _urgency(category, tone, tier, urgent, rng),
        "sentiment": TONE_SENTIMENT[tone],
        "customer_id": f"C-{rng.randint(1000, 1400)}",
        "customer_tier": tier,
        "channel": rng.choice(["email", "web", "chat", "api"]),
    }


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    for category in sorted(CATEGORIES):
        for language in ("en", "zh"):
            for _ in range(PER_CATEGORY_LANGUAGE):
                rows.append(_ticket(rng, category, language, len(rows) + 1))
    rng.shuffle(rows)
    _write(HERE / "tickets.csv", rows)
    oos = []
    for language, texts in OUT_OF_SCOPE.items():
        for text in texts:
            oos.append({"ticket_id": f"OOS-{len(oos) + 1:03d}", "subject": "", "body": text, "language": language,
                        "category": "out_of_scope", "urgency": "P4", "sentiment": "neutral",
                        "customer_id": f"C-{rng.randint(2000, 2100)}", "customer_tier": "standard",
                        "channel": "email"})  # fmt: skip
    _write(HERE / "out_of_scope.csv", oos)
    print(f"wrote {len(rows)} tickets and {len(oos)} out-of-scope tickets")


if __name__ == "__main__":
    main()
