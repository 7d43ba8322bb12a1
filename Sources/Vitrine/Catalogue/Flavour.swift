// Hand-written text the generator draws from: names, items and recommendation reasons in
// Chinese and English, in the voice of Weibo's 达人 recommending goods from Tmall, Taobao and
// Weimai (推荐取代卖货: recommend, don't hard-sell). Indexed by category, in the order of
// `CatalogueGenerator.categories`: beauty, fashion, food, home, digital, baby, outdoor, books.

enum Flavour {
    static let expertNames: [[String]] = [
        ["美妆达人小美", "护肤研究所阿珂", "Lena的化妆台"],
        ["穿搭日记Momo", "衣橱整理师阿宁", "Street Style Kai"],
        ["吃货老王", "厨房里的小林", "Snack Hunter Yu"],
        ["居家收纳控", "小窝改造计划", "Home with Jing"],
        ["数码玩家阿杰", "科技测评君", "Gadget Notes Leo"],
        ["宝妈育儿经", "奶爸实验室", "Mama Chen"],
        ["户外徒步达人", "周末露营记", "Trail Runner Hao"],
        ["书虫小满", "深夜读书会", "Bookish Wen"],
    ]

    static let items: [[String]] = [
        ["补水面膜 10片装", "氨基酸洗面奶", "玻尿酸精华", "防晒霜 SPF50", "口红礼盒", "卸妆油"],
        ["真丝衬衫", "高腰牛仔裤", "羊绒围巾", "小白鞋", "风衣外套", "针织开衫"],
        ["云南小粒咖啡豆", "手工牛轧糖", "每日坚果 30袋", "五常大米 5kg", "西湖龙井 250g", "螺蛳粉 6包"],
        ["收纳箱 3件套", "记忆棉枕头", "香薰蜡烛", "四件套纯棉床品", "不锈钢保温杯", "北欧落地灯"],
        ["蓝牙降噪耳机", "机械键盘", "移动电源 20000mAh", "智能手环", "无线充电板", "便携投影仪"],
        ["婴儿湿巾 10包", "有机米粉", "儿童绘本套装", "宝宝爬行垫", "吸管保温杯", "纯棉连体衣"],
        ["登山杖", "速干T恤", "双人帐篷", "防风冲锋衣", "户外头灯", "折叠露营椅"],
        ["《三体》全集", "《人类简史》", "《活着》", "《百年孤独》", "手账本", "Kindle 保护套"],
    ]

    static let adjectives = ["经典款 ", "新款 ", "升级版 ", "限定 ", "轻薄 ", "", "旗舰 ", "家庭装 "]

    static let brands = ["云朵", "山茶", "拾光", "木子", "青禾", "北岸", "初见", "半亩", "小野", "素然", "暖阳", "知味"]

    static let userNames = ["小红", "阿明", "Ann", "小雨", "Kevin", "晴天", "大鹏", "Mia", "豆豆", "Leo"]

    static let priceBands: [ClosedRange<Int64>] = [39...699, 59...1299, 9...199, 19...899, 99...2999, 19...399, 29...1599, 19...199]

    static let openingsZH = [
        "自用回购第三次，", "天猫旗舰店正品，售后有保障，", "朋友推荐入的，", "对比了好几家才选的，",
        "不是广告，真心分享：", "用了一个月说说感受，", "微卖小铺老板人很好，",
    ]
    static let detailsZH: [[String]] = [
        ["敏感肌也能用，温和不刺激，", "补水效果很明显，上妆不卡粉，", "质地清爽，夏天用刚好，"],
        ["面料垂感好，版型很显瘦，", "洗了几次不起球不褪色，", "通勤约会都能穿，"],
        ["香味很足，配料表干净，", "小包装很方便带去公司，", "家里老人孩子都爱吃，"],
        ["做工扎实，颜值也在线，", "小户型收纳神器，", "睡了一周颈椎舒服多了，"],
        ["续航比标称的还久，", "降噪效果地铁上很明显，", "做工和手感都对得起价格，"],
        ["宝宝用了不过敏，", "材质安全，有检测报告，", "出门带着很方便，"],
        ["上周爬山实测，轻便又结实，", "下雨天也不渗水，", "收纳起来很小，不占地方，"],
        ["一口气读完，后劲很大，", "印刷清晰，纸张手感好，", "适合睡前慢慢读，"],
    ]
    static let closingsZH = ["值得入手。", "库存不多，需要的抓紧。", "推荐给和我一样挑剔的你。", "性价比很高。", "已经推荐给身边朋友了。"]

    static let openingsEN = [
        "Bought it myself, on my third refill.", "Official Tmall store, so after-sales is covered.",
        "Not sponsored, just honest:", "Compared five shops before picking this one.", "A month in, here is my take:",
    ]
    static let detailsEN: [[String]] = [
        ["Gentle enough for sensitive skin.", "Really hydrating, and makeup sits well on top.", "Light texture, perfect for summer."],
        [
            "Drapes beautifully and the cut is flattering.", "No pilling or fading after several washes.",
            "Works for the office and for weekends.",
        ],
        ["Rich aroma and a short, clean ingredient list.", "Small packs, easy to take to work.", "The whole family finishes it fast."],
        ["Solid build and it looks good too.", "A lifesaver for a small flat.", "My neck has thanked me all week."],
        ["Battery outlasts the spec sheet.", "Noise cancelling makes the metro bearable.", "Build quality is worth every yuan."],
        ["No reactions on my baby's skin.", "Safe materials, test report included.", "Easy to carry on outings."],
        ["Tested on a hike last week: light and sturdy.", "Stayed dry through a rainy day.", "Packs down small."],
        ["Read it in one sitting and it stayed with me.", "Crisp print and lovely paper.", "A good slow read before bed."],
    ]
    static let closingsEN = [
        "Worth it.", "Stock is limited, so don't wait.", "Recommended for fellow picky buyers.", "Great value.", "Already told my friends.",
    ]
}
