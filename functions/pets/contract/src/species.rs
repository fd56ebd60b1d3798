//! The breed catalogue shipped with the product: every pet's species is one of these.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    Dog,
    Cat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Size {
    Small,
    Medium,
    Large,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Species {
    pub id: &'static str,
    pub kind: Kind,
    pub name_ko: &'static str,
    pub name_en: &'static str,
    pub size: Size,
}

use Kind::{Cat, Dog};
use Size::{Large as L, Medium as M, Small as S};

const fn sp(id: &'static str, kind: Kind, name_ko: &'static str, name_en: &'static str, size: Size) -> Species {
    Species { id, kind, name_ko, name_en, size }
}

pub const CATALOGUE: &[Species] = &[
    sp("dog-maltese", Dog, "말티즈", "Maltese", S),
    sp("dog-poodle-toy", Dog, "토이 푸들", "Toy Poodle", S),
    sp("dog-poodle-standard", Dog, "스탠다드 푸들", "Standard Poodle", L),
    sp("dog-pomeranian", Dog, "포메라니안", "Pomeranian", S),
    sp("dog-chihuahua", Dog, "치와와", "Chihuahua", S),
    sp("dog-shih-tzu", Dog, "시츄", "Shih Tzu", S),
    sp("dog-yorkshire-terrier", Dog, "요크셔 테리어", "Yorkshire Terrier", S),
    sp("dog-bichon-frise", Dog, "비숑 프리제", "Bichon Frise", S),
    sp("dog-dachshund", Dog, "닥스훈트", "Dachshund", S),
    sp("dog-pug", Dog, "퍼그", "Pug", S),
    sp("dog-french-bulldog", Dog, "프렌치 불도그", "French Bulldog", S),
    sp("dog-pekingese", Dog, "페키니즈", "Pekingese", S),
    sp("dog-miniature-pinscher", Dog, "미니어처 핀셔", "Miniature Pinscher", S),
    sp("dog-papillon", Dog, "파피용", "Papillon", S),
    sp("dog-cavalier-king-charles", Dog, "카발리에 킹 찰스 스패니얼", "Cavalier King Charles Spaniel", S),
    sp("dog-miniature-schnauzer", Dog, "미니어처 슈나우저", "Miniature Schnauzer", S),
    sp("dog-italian-greyhound", Dog, "이탈리안 그레이하운드", "Italian Greyhound", S),
    sp("dog-japanese-spitz", Dog, "재패니즈 스피츠", "Japanese Spitz", M),
    sp("dog-jindo", Dog, "진돗개", "Jindo", M),
    sp("dog-sapsali", Dog, "삽살개", "Sapsali", M),
    sp("dog-pungsan", Dog, "풍산개", "Pungsan", L),
    sp("dog-shiba-inu", Dog, "시바견", "Shiba Inu", M),
    sp("dog-welsh-corgi", Dog, "웰시 코기", "Pembroke Welsh Corgi", M),
    sp("dog-beagle", Dog, "비글", "Beagle", M),
    sp("dog-cocker-spaniel", Dog, "코카 스파니엘", "Cocker Spaniel", M),
    sp("dog-border-collie", Dog, "보더 콜리", "Border Collie", M),
    sp("dog-shetland-sheepdog", Dog, "셔틀랜드 쉽독", "Shetland Sheepdog", M),
    sp("dog-bulldog", Dog, "불도그", "Bulldog", M),
    sp("dog-boston-terrier", Dog, "보스턴 테리어", "Boston Terrier", S),
    sp("dog-jack-russell-terrier", Dog, "잭 러셀 테리어", "Jack Russell Terrier", S),
    sp("dog-west-highland-white-terrier", Dog, "웨스트 하이랜드 화이트 테리어", "West Highland White Terrier", S),
    sp("dog-schnauzer-standard", Dog, "스탠다드 슈나우저", "Standard Schnauzer", M),
    sp("dog-basset-hound", Dog, "바셋 하운드", "Basset Hound", M),
    sp("dog-samoyed", Dog, "사모예드", "Samoyed", L),
    sp("dog-siberian-husky", Dog, "시베리안 허스키", "Siberian Husky", L),
    sp("dog-alaskan-malamute", Dog, "알래스칸 맬러뮤트", "Alaskan Malamute", L),
    sp("dog-golden-retriever", Dog, "골든 리트리버", "Golden Retriever", L),
    sp("dog-labrador-retriever", Dog, "래브라도 리트리버", "Labrador Retriever", L),
    sp("dog-german-shepherd", Dog, "저먼 셰퍼드", "German Shepherd", L),
    sp("dog-doberman", Dog, "도베르만", "Dobermann", L),
    sp("dog-rottweiler", Dog, "로트와일러", "Rottweiler", L),
    sp("dog-great-pyrenees", Dog, "그레이트 피레니즈", "Great Pyrenees", L),
    sp("dog-bernese-mountain-dog", Dog, "버니즈 마운틴 독", "Bernese Mountain Dog", L),
    sp("dog-saint-bernard", Dog, "세인트 버나드", "Saint Bernard", L),
    sp("dog-great-dane", Dog, "그레이트 데인", "Great Dane", L),
    sp("dog-dalmatian", Dog, "달마시안", "Dalmatian", L),
    sp("dog-akita", Dog, "아키타", "Akita", L),
    sp("dog-chow-chow", Dog, "차우차우", "Chow Chow", M),
    sp("dog-shar-pei", Dog, "샤페이", "Shar Pei", M),
    sp("dog-whippet", Dog, "휘핏", "Whippet", M),
    sp("dog-australian-shepherd", Dog, "오스트레일리안 셰퍼드", "Australian Shepherd", M),
    sp("dog-bedlington-terrier", Dog, "베들링턴 테리어", "Bedlington Terrier", M),
    sp("dog-mixed-small", Dog, "믹스견(소형)", "Mixed breed (small)", S),
    sp("dog-mixed-medium", Dog, "믹스견(중형)", "Mixed breed (medium)", M),
    sp("dog-mixed-large", Dog, "믹스견(대형)", "Mixed breed (large)", L),
    sp("cat-korean-shorthair", Cat, "코리안 숏헤어", "Korean Shorthair", M),
    sp("cat-persian", Cat, "페르시안", "Persian", M),
    sp("cat-russian-blue", Cat, "러시안 블루", "Russian Blue", M),
    sp("cat-siamese", Cat, "샴", "Siamese", M),
    sp("cat-scottish-fold", Cat, "스코티시 폴드", "Scottish Fold", M),
    sp("cat-british-shorthair", Cat, "브리티시 숏헤어", "British Shorthair", M),
    sp("cat-american-shorthair", Cat, "아메리칸 숏헤어", "American Shorthair", M),
    sp("cat-munchkin", Cat, "먼치킨", "Munchkin", S),
    sp("cat-ragdoll", Cat, "랙돌", "Ragdoll", L),
    sp("cat-maine-coon", Cat, "메인쿤", "Maine Coon", L),
    sp("cat-norwegian-forest", Cat, "노르웨이 숲", "Norwegian Forest Cat", L),
    sp("cat-bengal", Cat, "벵갈", "Bengal", M),
    sp("cat-abyssinian", Cat, "아비시니안", "Abyssinian", M),
    sp("cat-sphynx", Cat, "스핑크스", "Sphynx", M),
    sp("cat-turkish-angora", Cat, "터키시 앙고라", "Turkish Angora", M),
    sp("cat-turkish-van", Cat, "터키시 반", "Turkish Van", L),
    sp("cat-exotic-shorthair", Cat, "엑조틱 숏헤어", "Exotic Shorthair", M),
    sp("cat-himalayan", Cat, "히말라얀", "Himalayan", M),
    sp("cat-birman", Cat, "버만", "Birman", M),
    sp("cat-siberian", Cat, "시베리안", "Siberian", L),
    sp("cat-devon-rex", Cat, "데본 렉스", "Devon Rex", S),
    sp("cat-cornish-rex", Cat, "코니시 렉스", "Cornish Rex", S),
    sp("cat-egyptian-mau", Cat, "이집션 마우", "Egyptian Mau", M),
    sp("cat-ocicat", Cat, "오시캣", "Ocicat", M),
    sp("cat-somali", Cat, "소말리", "Somali", M),
    sp("cat-tonkinese", Cat, "통키니즈", "Tonkinese", M),
    sp("cat-burmese", Cat, "버미즈", "Burmese", M),
    sp("cat-savannah", Cat, "사바나", "Savannah", L),
    sp("cat-selkirk-rex", Cat, "셀커크 렉스", "Selkirk Rex", M),
    sp("cat-mixed", Cat, "믹스묘", "Mixed breed", M),
];

pub fn by_id(id: &str) -> Option<&'static Species> {
    CATALOGUE.iter().find(|s| s.id == id)
}
