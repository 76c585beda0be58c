"""The generator's fixed world model: regions with their destination hubs, name pools, templates."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Order of ORIGIN_RANKING = rank of the citizenship (Zipf weight 1/rank^s); countries past the
# list fill the ranking up to n_citizenships in code order.
ORIGIN_RANKING = (
    "PH UA MD US KH ID MM RO VN NG TH BY HT BG MX NP LA IN BD ET UZ AF GH HN KG CN GT SV ER KE "
    "UG SN AL CO VE EG MA PK LK SO SY RU TJ KZ BO PE DO CM SL BF CI BJ ML NE TG GN SD SS TZ MW "
    "ZW MZ CD YE IQ JO LB TN DZ LY BR EC PY NI CU MN KP TL MY PL HU SK CZ RS BA MK XK GE AM AZ TM"
).split()


@dataclass(frozen=True, slots=True)
class Region:
    """Countries sharing name pools, destination hubs and a share of internal trafficking."""

    name: str
    members: tuple[str, ...]
    hubs: tuple[str, ...]  # most likely destinations first
    own_share: float  # exploited in the citizenship country itself
    pool: str  # name pool key
    calling_code: str
    languages: tuple[str, ...]
    cities: tuple[str, ...]


# name | members | hubs (most likely first) | own-country share | name pool | calling code | languages | cities
_REGION_TABLE = """
eastern_europe | UA BY RU | RU PL TR DE IL AE CZ | 0.35 | east_slavic | 380 | Ukrainian,Russian | Odesa,Kharkiv,Chernivtsi,Mykolaiv,Homel,Brest
south_east_europe | MD RO BG AL RS BA MK XK GE AM AZ | RU TR IT DE GB ES GR | 0.25 | south_east_europe | 373 | Romanian,Russian | Chișinău,Bălți,Iași,Constanța,Varna,Shkodër
central_europe | PL HU SK CZ | DE GB NL AT | 0.45 | default | 48 | Polish,Hungarian | Łódź,Miskolc,Košice,Ostrava
west_africa | NG GH SN CI BJ ML NE TG GN SL BF CM GM LR | NG IT LY CI GH ML LB SA | 0.40 | west_africa | 234 | English,Yoruba,Igbo,French,Hausa | Benin City,Lagos,Kumasi,Dakar,Abidjan,Bamako
east_africa | ET ER KE UG SO SD SS TZ RW BI DJ MW ZW MZ CD | SA AE KW LB LY KE SD ZA | 0.30 | east_africa | 251 | Amharic,Tigrinya,Swahili,Somali,Oromo | Addis Ababa,Asmara,Nairobi,Kampala,Mogadishu,Dodoma
philippines | PH | SA AE KW QA HK MY SG | 0.45 | philippines | 63 | Filipino,English,Cebuano | Manila,Cebu,Davao,Iloilo,Zamboanga
mainland_south_east_asia | VN KH TH MM LA | TH MY CN ID JP KR SA | 0.40 | mainland_sea | 84 | Vietnamese,Khmer,Thai,Burmese,Lao | Nghệ An,Battambang,Chiang Rai,Mandalay,Savannakhet
maritime_south_east_asia | ID MY TL BN | MY SA AE SG TW HK | 0.35 | malay | 62 | Indonesian,Malay,Javanese | Surabaya,Kupang,Medan,Dili,Kota Kinabalu
south_asia | IN NP BD PK LK AF BT | IN SA AE QA MY KW | 0.45 | south_asia | 91 | Hindi,Nepali,Bengali,Urdu,Dari | Kathmandu,Dhaka,Kolkata,Lahore,Colombo,Herat
central_asia | UZ KG TJ KZ TM MN | RU KZ TR AE KR | 0.25 | central_asia | 998 | Uzbek,Kyrgyz,Tajik,Russian | Samarkand,Osh,Khujand,Shymkent,Ulaanbaatar
east_asia | CN KP KR | CN KR JP RU | 0.50 | east_asia | 86 | Mandarin,Korean | Yunnan,Guangxi,Chongjin,Hyesan
latin_america | MX GT HN SV NI CO VE PE EC BO PY BR AR CL | US MX GT AR CL ES | 0.45 | latin_america | 52 | Spanish,Portuguese,Kʼicheʼ,Quechua | Tapachula,Quetzaltenango,San Pedro Sula,Cúcuta,Cusco,Asunción
caribbean | HT DO CU JM | DO US BR CL | 0.30 | caribbean | 509 | Haitian Creole,French,Spanish | Port-au-Prince,Cap-Haïtien,Santo Domingo,Santiago de Cuba
middle_east_north_africa | EG MA SY IQ JO LB TN DZ LY YE | SA AE TR LB JO LY | 0.50 | mena | 20 | Arabic,French,Kurdish | Alexandria,Casablanca,Aleppo,Mosul,Tripoli,Sana'a
other |  | US DE GB NL IT ES FR | 0.30 | default | 1 | English | Springfield,Lyon,Rotterdam,Leeds,Naples
"""  # noqa: E501


def _parse_regions(table: str) -> tuple[Region, ...]:
    regions = []
    for line in table.strip().splitlines():
        name, members, hubs, own, pool, cc, langs, cities = (part.strip() for part in line.split("|"))
        regions.append(
            Region(
                name,
                tuple(members.split()),
                tuple(hubs.split()),
                float(own),
                pool,
                cc,
                tuple(langs.split(",")),
                tuple(cities.split(",")),
            )
        )
    return tuple(regions)


REGIONS = _parse_regions(_REGION_TABLE)
REGION_OF: dict[str, Region] = {code: region for region in REGIONS for code in region.members}
OTHER_REGION = REGIONS[-1]

# Name pools, comma-separated: "latin|native" (native script optional), family names "male/female"
# where the form depends on gender.
NAME_POOLS: dict[str, dict[str, str]] = {
    "east_slavic": {
        "female": "Olena|Олена, Iryna|Ірина, Tetiana|Тетяна, Nataliia|Наталія, Oksana|Оксана, Yuliia|Юлія, Kateryna|Катерина, Anastasiia|Анастасія, Svitlana|Світлана, Mariia|Марія, Daryna|Дарина, Viktoriia|Вікторія",  # noqa: E501
        "male": "Oleksandr|Олександр, Andrii|Андрій, Dmytro|Дмитро, Serhii|Сергій, Mykola|Микола, Ivan|Іван, Vasyl|Василь, Yurii|Юрій",  # noqa: E501
        "family": "Kovalenko|Коваленко, Shevchenko|Шевченко, Bondarenko|Бондаренко, Tkachenko|Ткаченко, Kravchenko|Кравченко, Melnyk|Мельник, Lysenko|Лисенко, Moroz|Мороз, Hrytsenko|Гриценко, Ivanov/Ivanova|Иванов/Иванова, Petrov/Petrova|Петров/Петрова",  # noqa: E501
    },
    "south_east_europe": {
        "female": "Ana, Maria, Elena, Ioana, Mihaela, Cristina, Andreea, Ștefania, Mădălina, Irina, Teodora, Valentina, Daniela, Besjana",  # noqa: E501
        "male": "Ion, Andrei, Mihai, Gheorghe, Nicolae, Vasile, Dragoș, Ștefan, Georgi, Arben",
        "family": "Popescu, Rusu, Ciobanu, Munteanu, Lungu, Țurcanu, Ceban, Cojocaru, Sârbu, Căpățînă, Hoxha, Dimitrov/Dimitrova, Georgiev/Georgieva",  # noqa: E501
    },
    "west_africa": {
        "female": "Amina, Blessing, Chiamaka, Ngozi, Fatou, Aïssatou, Adaeze, Esther, Abena, Akosua, Mariama, Favour, Joy, Oluwaseun, Précieuse",  # noqa: E501
        "male": "Chinedu, Emeka, Oluwadamilare, Kwame, Kofi, Mamadou, Ibrahim, Moussa, Tunde, Samuel, Sékou",
        "family": "Okafor, Okonkwo, Adeyemi, Mensah, Diallo, Traoré, Ouédraogo, Bello, Eze, Boateng, Ndiaye, Osei, Adebayo, Nwosu, Koné",  # noqa: E501
    },
    "east_africa": {
        "female": "Selam|ሰላም, Hiwot|ሕይወት, Meron|ሜሮን, Tigist|ትዕግሥት, Amina, Halima, Wanjiru, Achieng, Nafula, Sumaya, Furaha",  # noqa: E501
        "male": "Abebe|አበበ, Dawit|ዳዊት, Yonas|ዮናስ, Mohamed, Abdi, Otieno, Kamau, Mugisha, Baraka",
        "family": "Tesfaye|ተስፋዬ, Bekele|በቀለ, Haile|ኃይሌ, Girma|ግርማ, Hassan, Mohamud, Odhiambo, Mwangi, Nakato, Okello, Mutesi",  # noqa: E501
    },
    "philippines": {
        "female": "Maria Cristina, Jocelyn, Rowena, Marites, Lovely, Angelica, Jenalyn, Rhea, Mary Grace, Liezel, Ma. Teresa",  # noqa: E501
        "male": "Jose, Rodel, Mark Anthony, Jun, Ronaldo, Reynaldo, Jomar",
        "family": "Santos, Reyes, Cruz, Bautista, Ocampo, Garcia, Mendoza, Dela Cruz, Villanueva, Macaraeg, Dimaculangan",  # noqa: E501
    },
    "mainland_sea": {
        "female": "Lan, Hoa, Ngọc Ánh, Thu Trang, Hương, Sreyneang|ស្រីនាង, Sophea|សុភា, Malee|มาลี, Siriporn|ศิริพร, Aye Aye|အေးအေး, Nilar|နီလာ, Noy|ນ້ອຍ",  # noqa: E501
        "male": "Minh, Đức Anh, Tuấn, Hùng, Sokha|សុខា, Dara|ដារា, Somchai|สมชาย, Aung Aung|အောင်အောင်, Kyaw|ကျော်, Khamla|ຄຳລາ",  # noqa: E501
        "family": "Nguyễn, Trần, Lê, Phạm, Hoàng, Chan|ចាន់, Sok|សុខ, Srisuk|ศรีสุข, Wongsa|วงศา, Htun|ထွန်း, Win|ဝင်း, Phommachanh|ພົມມະຈັນ",  # noqa: E501
    },
    "malay": {
        "female": "Siti Nurhaliza, Dewi, Sri Wahyuni, Rina, Putri, Nur Aini, Maria",
        "male": "Agus, Budi, Slamet, Rizky, Ahmad, Joaquim",
        "family": "Santoso, Wijaya, Hidayat, Rahman, Saputra, Lestari, Abdullah, Soares, Pereira, Ximenes",
    },
    "south_asia": {
        "female": "Priya|प्रिया, Sunita|सुनीता, Anjali|अंजलि, Sabina|सबिना, Fatima, Nasrin|নাসরিন, Lakshmi, Rina|রিনা, Parvati|पार्वती, Shabnam",  # noqa: E501
        "male": "Ramesh|रमेश, Suresh|सुरेश, Mohammad, Rahul|राहुल, Bikash|बिकास, Arjun, Imran, Sanjay|संजय, Karim|করিম",  # noqa: E501
        "family": "Sharma|शर्मा, Thapa|थापा, Gurung|गुरुङ, Tamang|तामाङ, Rahman|রহমান, Khan, Das|দাস, Kumar, Perera, Akter|আক্তার, Ahmadi",  # noqa: E501
    },
    "central_asia": {
        "female": "Dilnoza, Gulnara, Madina, Nigora, Aigerim, Zarina, Shahnoza, Bolormaa|Болормаа",
        "male": "Bekzod, Timur, Rustam, Farrukh, Nurlan, Bat-Erdene|Бат-Эрдэнэ",
        "family": "Karimov/Karimova, Rahimov/Rahimova, Usmonov/Usmonova, Saidov/Saidova, Nazarov/Nazarova, Toktogulov/Toktogulova, Batbayar|Батбаяр",  # noqa: E501
    },
    "east_asia": {
        "female": "Mei|美, Xiuying|秀英, Yan|燕, Hui|慧, Ji-yeon|지연, Min-ji|민지, Ok-sun|옥순",
        "male": "Wei|伟, Jun|军, Hao|浩, Min-jun|민준, Chol|철",
        "family": "Wang|王, Li|李, Zhang|张, Liu|刘, Chen|陈, Kim|김, Park|박, Choi|최, Ri|리",
    },
    "latin_america": {
        "female": "María José, Guadalupe, Ximena, Daniela, Lucía, Valentina, Sofía, Yesenia, Fernanda, Dayana, Francisca",  # noqa: E501
        "male": "José Luis, Juan Carlos, Miguel Ángel, Jesús, Andrés, Óscar, Wilmer, Edwin",
        "family": "García, Hernández, López, Martínez, Rodríguez, González, Pérez, Sánchez, Ramírez, Flores, Gómez, Núñez, Peña, Quispe, Da Silva",  # noqa: E501
    },
    "caribbean": {
        "female": "Wideline, Nadège, Rose-Marie, Mirlande, Guerline, Yolanda, Daniela",
        "male": "Jean-Baptiste, Wilner, Jean Robert, Frantz, Ramón",
        "family": "Jean, Pierre, Joseph, Louis, Saint-Fleur, Baptiste, Étienne, Féliz, Guerrero",
    },
    "mena": {
        "female": "Fatima|فاطمة, Aisha|عائشة, Mariam|مريم, Nour|نور, Layla|ليلى, Salma|سلمى, Yasmin, Zainab|زينب, Hayat",  # noqa: E501
        "male": "Mohamed|محمد, Ahmed|أحمد, Youssef|يوسف, Omar|عمر, Ali|علي, Karim, Hassan|حسن, Khaled",
        "family": "El Amrani, Haddad|حداد, Benali, Mansour|منصور, Al-Masri|المصري, Saleh|صالح, Nasser, Khalil|خليل, Bouzid, Al-Hashimi",  # noqa: E501
    },
    "default": {
        "female": "Emily, Sarah, Jessica, Anna, Laura, Sophie, Chloé, Małgorzata, Zsófia, Agnieszka, Brittany, Kayla",
        "male": "Michael, David, James, Thomas, Łukasz, Jakub, Pierre, Tyler",
        "family": "Smith, Johnson, Williams, Müller, Nowak, Kowalski/Kowalska, Dubois, Rossi, Novák/Nováková, Horváth, Jansen, Brown",  # noqa: E501
    },
}

CALLING_CODES = dict(
    pair.split(":")
    for pair in (
        "UA:380 BY:375 RU:7 MD:373 RO:40 BG:359 AL:355 NG:234 GH:233 SN:221 ET:251 ER:291 KE:254 UG:256 PH:63 VN:84 "
        "KH:855 TH:66 MM:95 LA:856 ID:62 IN:91 NP:977 BD:880 PK:92 UZ:998 KG:996 CN:86 MX:52 GT:502 HN:504 SV:503 "
        "CO:57 VE:58 HT:509 DO:1 EG:20 MA:212 SY:963 US:1"
    ).split()
)

STREETS = ("Market", "Station", "Church", "River", "Garden", "Mill", "Harbour", "School", "Hill", "Cedar")
# Note templates: about the work with the person, never a real event.
NOTE_TEMPLATES = (
    "Initial interview held with an interpreter; immediate needs assessed.",
    "Accompanied to a medical appointment; follow-up booked.",
    "Safety plan reviewed together; no new concerns reported.",
    "Phone call: wants to discuss options for returning home.",
    "Met the legal adviser about a residence permit application.",
    "Attended vocational training this week; engaged and motivated.",
    "Family contact discussed; the person does not want contact for now.",
    "Case conference with the shelter team; plan updated.",
)
NARRATIVE_TEMPLATE = "Recruited through {recruitment}; exploited in {country} ({exploitation}). Identified via {route}."


@lru_cache(maxsize=64)
def name_pool(pool: str, kind: str) -> list[tuple[str, str | None]]:
    """[(latin, native or None)] of a pool; gendered family names keep "m/f" for later."""
    entries = []
    for entry in NAME_POOLS[pool][kind].split(","):
        latin, _, native = entry.strip().partition("|")
        entries.append((latin, native or None))
    return entries


def gendered(name: str, female: bool) -> str:
    male_form, _, female_form = name.partition("/")
    return (female_form or male_form) if female else male_form
