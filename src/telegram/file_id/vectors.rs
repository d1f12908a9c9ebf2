//! Real Bot API `file_id`s and what each decodes to, for the decoder's tests.

use super::FileKind::{self, *};

/// A real `file_id` from a Bot API update and what it decodes to.
pub(super) struct Vector {
    pub(super) kind: FileKind,
    pub(super) file_id: &'static str,
    /// The `file_unique_id` Telegram sent beside it, when the source had it.
    pub(super) unique_id: Option<&'static str>,
    pub(super) sub_version: u8,
    pub(super) dc_id: i32,
    pub(super) id: i64,
    pub(super) access_hash: i64,
    pub(super) reference_hex: &'static str,
    pub(super) thumb: Option<char>,
}

#[allow(clippy::too_many_arguments)]
const fn v(
    kind: FileKind,
    file_id: &'static str,
    unique_id: Option<&'static str>,
    sub_version: u8,
    dc_id: i32,
    id: i64,
    access_hash: i64,
    reference_hex: &'static str,
    thumb: Option<char>,
) -> Vector {
    Vector { kind, file_id, unique_id, sub_version, dc_id, id, access_hash, reference_hex, thumb }
}

// Real ids from public Bot API update examples and fixtures (webhook payload documentation, bot
// test data, the tg-file-id README). Unless marked otherwise, dc, id, access hash and file
// reference are what pyrogram 2.0.106 `FileId.decode` gives for the same string.
#[rustfmt::skip]
pub(super) const PYROGRAM: &[Vector] = &[
    // One 2021 update set (sub-version 31: photos still carry a volume id).
    v(Photo, "AgACAgIAAxkBAAIBN2CvcfQ2TNZCjwABb-GH4V4wEFsC0QACCLIxG--ceUkCu0bEH6mVrFVPqaIuAAMBAAMCAANtAAOAvAIAAR8E", Some("AQADVU-poi4AA4C8AgAB"), 31, 2, 5294435387718087176, -6010712173754008830, "010000013760af71f4364cd6428f006fe187e15e30105b02d1", Some('m')),
    v(Photo, "AgACAgIAAxkBAAIBN2CvcfQ2TNZCjwABb-GH4V4wEFsC0QACCLIxG--ceUkCu0bEH6mVrFVPqaIuAAMBAAMCAAN5AAN-vAIAAR8E", Some("AQADVU-poi4AA368AgAB"), 31, 2, 5294435387718087176, -6010712173754008830, "010000013760af71f4364cd6428f006fe187e15e30105b02d1", Some('y')),
    v(VoiceNote, "AwACAgIAAxkBAAIBPWCvcyqUpO9-jCKjNjBOsYxXWwAB8AACjgsAAu-ceUl9EcYwhtngqB8E", Some("AgADjgsAAu-ceUk"), 31, 2, 5294435387261848462, -6277778710187339395, "010000013d60af732a94a4ef7e8c22a336304eb18c575b00f0", None),
    v(Thumbnail, "AAMCAgADGQEAAgE_YK9z68avRNua2J88zq7ZYnT9E8AAApILAALvnHlJEZbqM1HSyM4mmbChLgADAQAHbQADAVsAAh8E", Some("AQADJpmwoS4AAwFbAAI"), 31, 2, 5294435387261848466, -3546353460349069807, "010000013f60af73ebc6af44db9ad89f3cceaed96274fd13c0", Some('m')),
    v(Video, "BAACAgIAAxkBAAIBP2Cvc-vGr0TbmtifPM6u2WJ0_RPAAAKSCwAC75x5SRGW6jNR0sjOHwQ", Some("AgADkgsAAu-ceUk"), 31, 2, 5294435387261848466, -3546353460349069807, "010000013f60af73ebc6af44db9ad89f3cceaed96274fd13c0", None),
    v(Document, "BQACAgIAAxkBAAIBRWCvdqnX-zOBeB0kYc7NTX1lc0H-AAKZCwAC75x5STemD_BSAw5vHwQ", Some("AgADmQsAAu-ceUk"), 31, 2, 5294435387261848473, 8002337242633709111, "010000014560af76a9d7fb3381781d2461cecd4d7d657341fe", None),
    v(Thumbnail, "AAMCAgADGQEAAgEvYK9uTRlNGWwU2GS8GAElGtBjkJ4AArgAA8D7CAABTZJJmN-xlI7y8sAPAAQBAAdtAAM6TQACHwQ", Some("AQAD8vLADwAEOk0AAg"), 31, 2, 2528601865978040, -8172711849879825843, "010000012f60af6e4d194d196c14d864bc1801251ad063909e", Some('m')),
    v(Sticker, "CAACAgIAAxkBAAIBL2Cvbk0ZTRlsFNhkvBgBJRrQY5CeAAK4AAPA-wgAAU2SSZjfsZSOHwQ", Some("AgADuAADwPsIAAE"), 31, 2, 2528601865978040, -8172711849879825843, "010000012f60af6e4d194d196c14d864bc1801251ad063909e", None),
    v(Audio, "CQACAgIAAxkBAAIBSWCveLv1rDVHGHhmQXkkN8tVDL1RAAKdCwAC75x5Sd9sSf2NjkxbHwQ", Some("AgADnQsAAu-ceUk"), 31, 2, 5294435387261848477, 6578789896172432607, "010000014960af78bbf5ac354718786641792437cb550cbd51", None),
    v(Animation, "CgACAgQAAxkBAAIBTWCvewSHth-7EMlYQNqB3TMmQXMfAAJ3AgACVrsNUETo8ZdbM9TFHwQ", Some("AgADdwIAAla7DVA"), 31, 4, 5768472675773055607, -4191668884690835388, "010000014d60af7b0487b61fbb10c95840da81dd332641731f", None),
    // A 2025 voice message and video note (sub-version 54).
    v(VoiceNote, "AwACAgIAAxkBAAMZaH0B7-V-PDH1yOfWfSeFRopP0JMAArp7AALBAAHoSz7P4u-cU53vNgQ", Some("AgADunsAAsEAAehL"), 54, 2, 5469622576370187194, -1180695593796579522, "0100000019687d01efe57e3c31f5c8e7d67d2785468a4fd093", None),
    v(VideoNote, "DQACAgIAAxkBAAMaaH0Gj64CGrVl8u_5tLczDONcKcMAAkFxAAL96uhLZQABXm8F-ah2NgQ", Some("AgADQXEAAv3q6Es"), 54, 2, 5469880119789121857, 8550357694301470821, "010000001a687d068fae021ab565f2eff9b4b7330ce35c29c3", None),
    v(Audio, "CQACAgIAAxkBAAIRami0L3swXDfsSXhvF0Ljm7iSbYRFAAKheQACsEWgSYkNqRrPqni0NgQ", Some("AgADoXkAArBFoEk"), 54, 2, 5305316983259036065, -5442412343195005559, "010000116a68b42f7b305c37ec49786f1742e39bb8926d8445", None),
    v(Sticker, "CAACAgIAAxkBAAIRY2igsB2hRrAREo2H8vfDKwABWTuwHQACgmoAAmlkKUl6ULhTh2ESUTYE", Some("AgADgmoAAmlkKUk"), 54, 2, 5271855240948247170, 5841838900506022010, "010000116368a0b01da146b011128d87f2f7c32b00593bb01d", None),
    // Single ids from other fixtures, sub-versions 27 to 59.
    v(Document, "BQACAgIAAxkBAAIESWPk4BNsED58ZKlRvdEBCxS91wU7AAKHIgACFO0oS5VByVl_X0wgLgQ", Some("AgADhyIAAhTtKEs"), 46, 2, 5415839222068159111, 2327340108015550869, "010000044963e4e0136c103e7c64a951bdd1010b14bdd7053b", None),
    v(Document, "BQACAgIAAxkBAAIBqWXc7gqqTE1ZAjY3E-EXiLYNUXF4AAIISwACXEHpSr-Hu2LjvKeRNAQ", Some("AgADCEsAAlxB6Uo"), 52, 2, 5397917491773065992, -7951178932299266113, "01000001a965dcee0aaa4c4d5902363713e11788b60d517178", None),
    v(Video, "BAACAgIAAxkBAAIBp2B5KK_LS-cl2oKnJJk_Y_nDYClKAAIaDAACB-uwSwEh5PrlHCP9HwQ", Some("AgADGgwAAgfrsEs"), 31, 2, 5454117564042972186, -206289383846567679, "01000001a7607928afcb4be725da82a724993f63f9c360294a", None),
    v(Thumbnail, "AAMCAgADGQEAAgGnYHkor8tL5yXagqckmT9j-cNgKUoAAhoMAAIH67BLASHk-uUcI_2A-E-kLgADAQAHbQADdDoAAh8E", Some("AQADgPhPpC4AA3Q6AAI"), 31, 2, 5454117564042972186, -206289383846567679, "01000001a7607928afcb4be725da82a724993f63f9c360294a", Some('m')),
    v(Audio, "CQACAgIAAxkBAAIBV2B1jv60SxrFVCMxCzBL0F4GIcHZAAK6CwACW1MwS-9XTxDr-In0HgQ", Some("AgADugsAAltTMEs"), 30, 2, 5417922002033839034, -825855368171137041, "010000015760758efeb44b1ac55423310b304bd05e0621c1d9", None),
    v(VoiceNote, "AwACAgIAAxkBAAI2SmKtBrufIcWi95pc7qz3NkFNPnZNAAI5HwACp3ZpSdqwY0ZTyPojJAQ", Some("AgADOR8AAqd2aUk"), 36, 2, 5289889696954982201, 2592604795493920986, "010000364a62ad06bb9f21c5a2f79a5ceeacf736414d3e764d", None),
    v(Animation, "CgACAgIAAxkBAAIBAmUabK-y104iS0FMMCR9jWUui1OXAAKdOwACeTjRSFJ3lId-4Bi2MAQ", Some("AgADnTsAAnk40Ug"), 48, 2, 5247037133205552029, -5325259725320456366, "0100000102651a6cafb2d74e224b414c30247d8d652e8b5397", None),
    v(Animation, "CgACAgIAAxkBAANnY29tLaaSMtHby80d9PGI0jTUUF8AAh4hAAKzOnlLHPK4EDz-0VkrBA", Some("AgADHiEAArM6eUs"), 43, 2, 5438442565500150046, 6472233673440162332, "0100000067636f6d2da69232d1dbcbcd1df4f188d234d4505f", None),
    // The tg-file-id README states this id, access hash, dc and sub-version too.
    v(Sticker, "CAACAgIAAxkBAAIEol9yQhBqFnT4HXldAh31a-hYXuDIAAIECwACAoujAAFFn1sl9AABHbkbBA", Some("AgADBAsAAgKLowAB"), 27, 2, 46033261910035204, -5107925353769492667, "01000004a25f7242106a1674f81d795d021df56be8585ee0c8", None),
    v(Video, "BAACAgIAAxkBAAIDSWnOlb1_AAGAYgWnEGm3bGJfXjFeggACKAoAAjH_WUs4J1skcGE7GToE", None, 58, 2, 5429651411690326568, 1818154008848312120, "010000034969ce95bd7f00806205a71069b76c625f5e315e82", None),
    v(VideoNote, "DQACAgIAAxkBAAMhahhQfhCycqexkKysYDi_MMFQ4WwAAlmZAAJBpaBIUqucIOryZbc7BA", None, 59, 2, 5233364465596012889, -5231508304737555630, "01000000216a18507e10b272a7b190acac6038bf30c150e16c", None),
];

// Photo-class ids of sub-version 32 and later: pyrogram 2.0.106 rejects them ("Unknown
// thumbnail_source 120"), as it still reads the volume id TDLib dropped at that version. The
// values follow TDLib's layout; the `file_unique_id` Telegram sent beside each agrees.
#[rustfmt::skip]
pub(super) const TDLIB_ONLY: &[Vector] = &[
    v(Photo, "AgACAgIAAyEFAASRVpKkAAIG7WdlNfnUx45k2KCuLyo4EHHcEvWHAAIJ5jEbqlwpS3IQJCLujLnXAQADAgADcwADNgQ", Some("AQADCeYxG6pcKUt4"), 54, 2, 5415961912560182793, -2902133530460680078, "0500000000915692a4000006ed676535f9d4c78e64d8a0ae2f2a381071dc12f587", Some('s')),
    v(Photo, "AgACAgIAAyEFAASRVpKkAAIG7WdlNfnUx45k2KCuLyo4EHHcEvWHAAIJ5jEbqlwpS3IQJCLujLnXAQADAgADeAADNgQ", Some("AQADCeYxG6pcKUt9"), 54, 2, 5415961912560182793, -2902133530460680078, "0500000000915692a4000006ed676535f9d4c78e64d8a0ae2f2a381071dc12f587", Some('x')),
    v(Thumbnail, "AAMCAgADGQEAAxpofQaPrgIatWXy7_m0tzMM41wpwwACQXEAAv3q6EtlAAFebwX5qHYBAAdtAAM2BA", Some("AQADQXEAAv3q6Ety"), 54, 2, 5469880119789121857, 8550357694301470821, "010000001a687d068fae021ab565f2eff9b4b7330ce35c29c3", Some('m')),
    v(Photo, "AgACAgIAAxkBAAIft2Zp4CGGP-wErLOxrby09OIw6YdlAAK64jEbNB9RS9ac39NJshsQAQADAgADeAADNQQ", None, 53, 2, 5427153334613172922, 1160717359135038678, "0100001fb76669e021863fec04acb3b1adbcb4f4e230e98765", Some('x')),
];

pub(super) fn all_vectors() -> impl Iterator<Item = &'static Vector> {
    PYROGRAM.iter().chain(TDLIB_ONLY)
}
