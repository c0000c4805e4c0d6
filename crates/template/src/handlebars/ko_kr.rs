//! A Korean locale for the `fake` crate, which ships none: names, places, companies,
//! phone numbers and words as they look in Korea. Word lists written for standin.

use fake::locales::Data;

#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
pub(crate) struct KO_KR;

/// Provinces and metropolitan cities.
pub(crate) const PROVINCES: &[&str] = &[
    "서울특별시",
    "부산광역시",
    "대구광역시",
    "인천광역시",
    "광주광역시",
    "대전광역시",
    "울산광역시",
    "세종특별자치시",
    "경기도",
    "강원특별자치도",
    "충청북도",
    "충청남도",
    "전북특별자치도",
    "전라남도",
    "경상북도",
    "경상남도",
    "제주특별자치도",
];

/// Cities, each with the province it lies in (a metropolitan city is its own).
pub(crate) const CITIES: &[(&str, &str)] = &[
    ("서울특별시", "서울특별시"),
    ("부산광역시", "부산광역시"),
    ("대구광역시", "대구광역시"),
    ("인천광역시", "인천광역시"),
    ("광주광역시", "광주광역시"),
    ("대전광역시", "대전광역시"),
    ("울산광역시", "울산광역시"),
    ("세종특별자치시", "세종특별자치시"),
    ("수원시", "경기도"),
    ("성남시", "경기도"),
    ("고양시", "경기도"),
    ("용인시", "경기도"),
    ("부천시", "경기도"),
    ("안양시", "경기도"),
    ("안산시", "경기도"),
    ("화성시", "경기도"),
    ("평택시", "경기도"),
    ("파주시", "경기도"),
    ("김포시", "경기도"),
    ("춘천시", "강원특별자치도"),
    ("원주시", "강원특별자치도"),
    ("강릉시", "강원특별자치도"),
    ("청주시", "충청북도"),
    ("충주시", "충청북도"),
    ("천안시", "충청남도"),
    ("아산시", "충청남도"),
    ("전주시", "전북특별자치도"),
    ("군산시", "전북특별자치도"),
    ("목포시", "전라남도"),
    ("여수시", "전라남도"),
    ("순천시", "전라남도"),
    ("포항시", "경상북도"),
    ("경주시", "경상북도"),
    ("구미시", "경상북도"),
    ("창원시", "경상남도"),
    ("김해시", "경상남도"),
    ("진주시", "경상남도"),
    ("제주시", "제주특별자치도"),
    ("서귀포시", "제주특별자치도"),
];

/// Districts (구) for the street part of an address.
pub(crate) const DISTRICTS: &[&str] = &[
    "강남구",
    "서초구",
    "송파구",
    "마포구",
    "용산구",
    "종로구",
    "중구",
    "영등포구",
    "성동구",
    "광진구",
    "동작구",
    "관악구",
    "강서구",
    "노원구",
    "해운대구",
    "수영구",
    "연수구",
    "남동구",
    "유성구",
    "수성구",
    "분당구",
    "수지구",
    "동구",
    "서구",
    "남구",
    "북구",
];

/// Road names (도로명).
pub(crate) const ROADS: &[&str] = &[
    "세종대로",
    "테헤란로",
    "강남대로",
    "올림픽로",
    "한강대로",
    "을지로",
    "종로",
    "퇴계로",
    "남부순환로",
    "도산대로",
    "논현로",
    "봉은사로",
    "영동대로",
    "월드컵로",
    "양재대로",
    "해운대로",
    "중앙대로",
    "달구벌대로",
    "경인로",
    "둔산로",
    "삼일대로",
    "반포대로",
    "서초대로",
    "판교역로",
    "광교중앙로",
    "디지털로",
    "동탄대로",
    "충장로",
    "공항대로",
    "시청로",
];

/// The first part of a company name.
pub(crate) const COMPANY_STEMS: &[&str] = &[
    "한빛",
    "대한",
    "미래",
    "새롬",
    "우리",
    "하나",
    "동방",
    "제일",
    "한결",
    "누리",
    "온누리",
    "다온",
    "푸른",
    "세종",
    "한강",
    "백두",
    "가온",
    "새빛",
    "태평",
    "아름",
    "늘봄",
    "해솔",
    "바른",
    "참",
    "으뜸",
    "한울",
    "나래",
    "다솜",
];

const ROMANIZED_PROVIDERS: &[&str] = &[
    "naver.com",
    "daum.net",
    "kakao.com",
    "gmail.com",
    "hanmail.net",
    "nate.com",
];

#[rustfmt::skip]
impl Data for KO_KR {
    const NAME_LAST_NAME: &'static [&'static str] = &[
        "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권",
        "황", "안", "송", "류", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "유", "남",
        "심", "노", "하", "곽", "성", "차", "주", "우", "구", "민", "진", "나", "지", "엄", "채",
        "원", "천", "방", "공", "현", "함", "변", "염", "여", "추", "도", "소", "석", "선", "설",
        "마", "길", "연", "위", "표", "명", "기", "반", "왕", "금", "옥", "육", "인", "맹", "제",
        "모", "탁", "국", "어", "은", "편", "용", "예", "경", "봉", "황보", "남궁", "제갈", "선우",
        "독고",
    ];
    const NAME_FIRST_NAME: &'static [&'static str] = &[
        "민준", "서준", "도윤", "예준", "시우", "하준", "주원", "지호", "지후", "준우", "준서",
        "건우", "현우", "도현", "지훈", "우진", "선우", "서진", "민재", "현준", "연우", "유준",
        "정우", "승우", "승현", "시윤", "준혁", "은우", "지환", "승민", "유찬", "윤우", "민성",
        "준영", "시후", "진우", "수호", "재원", "동현", "성민", "영호", "상철", "정훈", "태현",
        "서연", "서윤", "지우", "서현", "민서", "하은", "하윤", "윤서", "지유", "지민", "채원",
        "지윤", "은서", "수아", "다은", "예은", "지아", "수빈", "소율", "예린", "예원", "지원",
        "소윤", "지안", "하린", "시은", "유진", "채은", "가은", "윤아", "민지", "수민", "예서",
        "유나", "서아", "하율", "다인", "서영", "주아", "수연", "현서", "미경", "영희", "은정",
    ];
    const NAME_TITLE: &'static [&'static str] = &["님", "씨", "선생님", "고객님"];
    const NAME_SUFFIX: &'static [&'static str] = &["님", "씨"];
    const NAME_TPL: &'static str = "{LastName}{FirstName}";
    const NAME_WITH_TITLE_TPL: &'static str = "{LastName}{FirstName} {Title}";

    const JOB_SENIORITY: &'static [&'static str] = &["신입", "주니어", "시니어", "수석", "책임", "선임"];
    const JOB_FIELD: &'static [&'static str] = &[
        "개발", "디자인", "마케팅", "영업", "인사", "재무", "회계", "법무", "기획", "운영", "품질",
        "데이터", "보안", "고객지원", "연구",
    ];
    const JOB_POSITION: &'static [&'static str] = &[
        "사원", "주임", "대리", "과장", "차장", "부장", "팀장", "이사", "엔지니어", "매니저",
        "연구원", "디자이너",
    ];
    const JOB_TITLE_TPL: &'static str = "{Seniority} {Field} {Position}";

    const ADDRESS_CITY_PREFIX: &'static [&'static str] = &["서울", "부산", "대구", "인천", "광주", "대전", "울산"];
    const ADDRESS_CITY_SUFFIX: &'static [&'static str] = &["시"];
    const ADDRESS_CITY_TPL: &'static str = "{CityName}{CitySuffix}";
    const ADDRESS_CITY_WITH_PREFIX_TPL: &'static str = "{CityPrefix}{CitySuffix}";
    const ADDRESS_COUNTRY: &'static [&'static str] = &[
        "대한민국", "일본", "중국", "미국", "캐나다", "영국", "프랑스", "독일", "이탈리아",
        "스페인", "호주", "뉴질랜드", "베트남", "태국", "싱가포르", "인도", "브라질", "멕시코",
    ];
    const ADDRESS_COUNTRY_CODE: &'static [&'static str] = &[
        "KR", "JP", "CN", "US", "CA", "GB", "FR", "DE", "IT", "ES", "AU", "NZ", "VN", "TH", "SG",
        "IN", "BR", "MX",
    ];
    const ADDRESS_STREET_SUFFIX: &'static [&'static str] = &["로", "길", "대로"];
    const ADDRESS_STREET_TPL: &'static str = "{StreetName}{StreetSuffix}";
    const ADDRESS_SECONDARY_ADDR_TYPE: &'static [&'static str] = &["동", "호"];
    const ADDRESS_SECONDARY_ADDR_TPL: &'static str = "{Number}{Type}";
    const ADDRESS_TIME_ZONE: &'static [&'static str] = &["Asia/Seoul"];
    const ADDRESS_STATE: &'static [&'static str] = PROVINCES;
    const ADDRESS_STATE_ABBR: &'static [&'static str] = &[
        "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북",
        "충남", "전북", "전남", "경북", "경남", "제주",
    ];
    const ADDRESS_BUILDING_NUMBER_FORMATS: &'static [&'static str] = &["^", "^#", "^##", "^#-^"];
    const ADDRESS_ZIP_FORMATS: &'static [&'static str] = &["#####"];
    const ADDRESS_POSTCODE_FORMATS: &'static [&'static str] = &["#####"];

    const COMPANY_SUFFIX: &'static [&'static str] = &[
        "전자", "물산", "건설", "테크", "소프트", "바이오", "식품", "제약", "통신", "상사",
        "시스템즈", "네트웍스", "에너지", "물류", "화학", "금융", "보험", "증권",
    ];
    const COMPANY_NAME_TPLS: &'static [&'static str] = &["{Name_1}{Suffix}"];
    const COMPANY_INDUSTRY: &'static [&'static str] = &[
        "반도체", "자동차", "조선", "철강", "석유화학", "금융", "보험", "유통", "게임", "엔터테인먼트",
        "바이오", "제약", "통신", "인터넷", "물류", "건설", "식품", "교육", "여행", "의료",
    ];
    const COMPANY_PROFESSION: &'static [&'static str] = &[
        "교사", "배우", "음악가", "작가", "의사", "회계사", "건축가", "경제학자", "엔지니어",
        "통역사", "변호사", "사서", "소방관", "판사", "경찰관", "프로그래머", "웹 개발자",
        "디자이너", "간호사", "요리사", "조종사", "운전기사", "정원사", "목수", "전기기사", "기자",
        "분석가", "바리스타", "제빵사", "약사", "과학자", "치과의사", "수의사",
    ];

    const INTERNET_FREE_EMAIL_PROVIDER: &'static [&'static str] = ROMANIZED_PROVIDERS;
    const INTERNET_DOMAIN_SUFFIX: &'static [&'static str] = &["kr", "co.kr", "com", "net", "or.kr"];

    const PHONE_NUMBER_FORMATS: &'static [&'static str] = &[
        "02-###-####", "02-^###-####", "031-###-####", "032-###-####", "051-###-####",
        "053-###-####", "062-###-####", "042-###-####", "064-###-####", "070-^###-####",
    ];
    const PHONE_CELL_NUMBER_FORMATS: &'static [&'static str] = &["010-^###-####"];

    const LOREM_WORD: &'static [&'static str] = &[
        "하늘", "바다", "사람", "시간", "마음", "세상", "오늘", "내일", "이야기", "사랑", "꿈",
        "길", "나무", "꽃", "바람", "구름", "별", "달", "햇살", "노래", "친구", "가족", "학교",
        "회사", "도시", "마을", "여행", "음식", "커피", "책", "영화", "음악", "생각", "기억",
        "미래", "희망", "행복", "계절", "봄", "여름", "가을", "겨울", "아침", "저녁", "밤", "산",
        "강", "바위", "들판", "창문", "문", "의자", "편지", "사진", "시장", "거리", "버스",
        "기차", "공원", "정원", "비", "눈", "소리", "빛", "그림자", "약속", "선물", "하루",
    ];

    const CURRENCY_SYMBOL: &'static [&'static str] = &["₩", "$", "€", "¥", "£"];
}

impl fake::faker::impls::address::CityNameGenFn for KO_KR {
    fn r#gen<R: rand::RngExt + ?Sized>(
        _: &fake::faker::address::raw::CityName<Self>,
        rng: &mut R,
    ) -> String {
        use rand::seq::IndexedRandom;
        CITIES.choose(rng).map_or("서울특별시", |c| c.0).to_string()
    }
}
