//! The application form as a PDF (AP2): the application's content and a box where the
//! representative writes their name before it is emailed to the bureau.
//!
//! Written directly, on A4 pages. The text is set in BIZ UDPGothic (SIL Open Font License 1.1,
//! `fonts/`), and the PDF embeds a subset of it holding just the glyphs used: a Type0 font over a
//! CIDFontType2, addressed through Identity-H with the CID being the glyph's id in the subset,
//! plus a ToUnicode CMap so the text can be searched and copied. Embedded, the form prints the
//! same in every reader, whether or not it has Japanese fonts of its own.
//!
//! Labels, values and the closing note wrap within their columns, a character at a time
//! (Japanese has no spaces), with simple kinsoku: closing brackets, punctuation, small kana and
//! the prolonged sound mark do not begin a line, opening brackets do not end one. Content that
//! would pass the bottom margin continues on a new page.

use std::fmt::{self, Write as _};

use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

/// One line of the form: a label and its value.
pub type Field = (String, String);

/// The form could not be rendered: the embedded font could not be read or subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfError(String);

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "application form PDF: {}", self.0)
    }
}

impl std::error::Error for PdfError {}

/// BIZ UDPGothic Regular 1.05 (OFL-1.1; see `fonts/README.md`).
static FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fonts/BIZUDPGothic-Regular.ttf"
));
/// Its PostScript name, which the subset keeps behind a tag.
const FONT_NAME: &str = "BIZUDPGothic-Regular";

// The page, in points: A4 with margins of 56 pt (about 20 mm).
const PAGE_WIDTH: i32 = 595;
const PAGE_HEIGHT: i32 = 842;
const LEFT: i32 = 56;
const RIGHT: i32 = 539;
const BOTTOM: i32 = 56;
/// The baseline of the first line on a page.
const TOP: i32 = 790;
/// The label column is LEFT..LABEL_RIGHT, the value column VALUE_LEFT..RIGHT.
const LABEL_RIGHT: i32 = 210;
const VALUE_LEFT: i32 = 220;

const TITLE_SIZE: i32 = 16;
const TITLE_LEADING: i32 = 22;
/// From the title's last baseline to the first row's is TITLE_LEADING + TITLE_GAP.
const TITLE_GAP: i32 = 18;
const TEXT_SIZE: i32 = 10;
const TEXT_LEADING: i32 = 14;
/// Between rows, on top of TEXT_LEADING.
const ROW_GAP: i32 = 6;
/// From the signature label's baseline to the note's.
const NOTE_GAP: i32 = 50;
const NOTE_SIZE: i32 = 9;
const NOTE_LEADING: i32 = 13;
const FOOTER_SIZE: i32 = 8;
const FOOTER_BASELINE: i32 = 30;

const SIGNATURE_LABEL: &str = "代表者氏名（自署）";
const NOTE: &str =
    "本書に代表者氏名を記入し、登録日の翌日から14日以内に管轄労働局へ提出してください（D1）。";

/// Characters that may not begin a line: closing brackets, punctuation, small kana, iteration
/// marks and the prolonged sound mark.
const NO_START: &str = "、。，．,.）)」』】〕〉》］]｝}〙〗〟’”！!？?：:；;・･ー～〜ヽヾゝゞ々〻‐゠–…‥%％ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿｧｨｩｪｫｯｬｭｮ";
/// Characters that may not end a line: opening brackets.
const NO_END: &str = "（(「『【〔〈《［[｛{〘〖〝‘“";

/// Render the form. `title` is the heading; `fields` are printed in order, then the box for the
/// representative's name and the note on submission (D1).
pub fn application_form(title: &str, fields: &[Field]) -> Result<Vec<u8>, PdfError> {
    let font = Font::load()?;
    // Characters with no ink of their own (variation selectors after a kanji of a name, joiners,
    // a byte-order mark) would draw the font's empty box: they are left out.
    let title = visible(title);
    let fields: Vec<Field> = fields
        .iter()
        .map(|(label, value)| (visible(label), visible(value)))
        .collect();
    let pages = layout(&font, &title, &fields);
    render(&font, &pages)
}

/// `text` without the default-ignorable characters a form cannot show.
fn visible(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !matches!(
                *c,
                '\u{00AD}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{E0000}'..='\u{E0FFF}'
            )
        })
        .collect()
}

/// The font's metrics, for layout and the PDF's font dictionaries.
#[derive(Debug)]
struct Font<'a> {
    face: Face<'a>,
    units_per_em: i32,
}

impl Font<'static> {
    fn load() -> Result<Self, PdfError> {
        let face = Face::parse(FONT, 0).map_err(|e| PdfError(format!("reading the font: {e}")))?;
        let units_per_em = i32::from(face.units_per_em()).max(1);
        Ok(Self { face, units_per_em })
    }
}

impl Font<'_> {
    /// The glyph for `c`, or 0 (.notdef) when the font has none.
    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Font units to PDF glyph space (1/1000 em), rounded to the nearest.
    fn scale(&self, value: i32) -> i32 {
        (value * 2000 + self.units_per_em).div_euclid(2 * self.units_per_em)
    }

    /// A glyph's advance in 1/1000 em: what the PDF's /W says, so layout measures what is drawn.
    fn advance(&self, glyph: u16) -> u32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        self.scale(i32::from(units)).unsigned_abs()
    }

    /// The advance of the glyph `c` is drawn with, in 1/1000 em.
    fn char_advance(&self, c: char) -> u32 {
        self.advance(self.glyph(c))
    }

    /// The width of `text` at `size`, in 1/1000 pt.
    fn text_width(&self, text: &str, size: i32) -> u64 {
        text.chars()
            .map(|c| u64::from(self.char_advance(c)) * u64::from(size.unsigned_abs()))
            .sum()
    }
}

/// Break `text` into lines no wider than `max_width` points at `size` points, where
/// `advance(c)` is the width of `c` in 1/1000 em. Line breaks in `text` are kept; other control
/// characters are dropped, tabs become spaces. Lines are filled greedily, a character at a time;
/// a space where a line breaks is dropped, and kinsoku moves a character or two down to the
/// next line rather than let a line begin with one of NO_START or end with one of NO_END. A
/// single character wider than the column gets a line of its own. Always at least one line
/// (empty for empty text).
fn wrap(text: &str, size: i32, max_width: i32, advance: &impl Fn(char) -> u32) -> Vec<String> {
    let limit = u64::from(max_width.unsigned_abs()) * 1000;
    let width = |c: char| u64::from(advance(c)) * u64::from(size.unsigned_abs());
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line: Vec<char> = Vec::new();
        let mut line_width = 0;
        let mut continued = false;
        for c in paragraph.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if c.is_control() {
                continue;
            }
            if continued && line.is_empty() && c.is_whitespace() {
                continue;
            }
            let w = width(c);
            if !line.is_empty() && line_width + w > limit {
                continued = true;
                if c.is_whitespace() {
                    lines.push(finish(std::mem::take(&mut line)));
                    line_width = 0;
                    continue;
                }
                let keep = break_at(&line, c, w, limit, &width);
                let carried = line.split_off(keep);
                lines.push(finish(std::mem::replace(&mut line, carried)));
                line_width = line.iter().map(|&c| width(c)).sum();
            }
            line.push(c);
            line_width += w;
        }
        lines.push(finish(line));
    }
    lines
}

/// How many characters stay on `line` when `next` (of width `next_width`) does not fit after
/// them: all of them, unless `next` may not begin a line or the last one may not end it; then
/// fewer, as long as what moves down still fits on a line of its own.
fn break_at(
    line: &[char],
    next: char,
    next_width: u64,
    limit: u64,
    width: &impl Fn(char) -> u64,
) -> usize {
    let mut carried = next_width;
    for keep in (1..=line.len()).rev() {
        let first = line.get(keep).copied().unwrap_or(next);
        let Some(&last) = line.get(keep - 1) else {
            break;
        };
        if !NO_START.contains(first) && !first.is_whitespace() && !NO_END.contains(last) {
            return keep;
        }
        carried += width(last);
        if carried > limit {
            break;
        }
    }
    line.len()
}

fn finish(line: Vec<char>) -> String {
    let text: String = line.into_iter().collect();
    text.trim_end().to_owned()
}

/// Something drawn on a page; coordinates in points from the bottom left.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    /// `text` on the baseline `y`, starting at `x`.
    Text {
        size: i32,
        x: i32,
        y: i32,
        text: String,
    },
    /// A rectangle outline with its bottom left corner at (`x`, `y`).
    Frame {
        x: i32,
        y: i32,
        width: i32,
        height: i32,
    },
}

/// Pages being filled from the top; `y` is the next baseline.
#[derive(Debug)]
struct Pages {
    pages: Vec<Vec<Mark>>,
    y: i32,
}

impl Pages {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    /// Start a new page unless what is drawn next, reaching `depth` points below the current
    /// baseline, fits above the bottom margin, or the page is still empty (then it cannot fit
    /// anywhere: it is drawn from the top and splits where it must).
    fn room_for(&mut self, depth: i32) {
        let empty = self.pages.last().is_none_or(Vec::is_empty);
        if self.y - depth < BOTTOM && !empty {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    fn mark(&mut self, mark: Mark) {
        if let Some(page) = self.pages.last_mut() {
            page.push(mark);
        }
    }

    fn text(&mut self, size: i32, x: i32, text: &str) {
        if !text.is_empty() {
            let y = self.y;
            self.mark(Mark::Text {
                size,
                x,
                y,
                text: text.to_owned(),
            });
        }
    }

    /// `lines` at `x`, one per `leading`, kept on one page when they fit on one.
    fn paragraph(&mut self, lines: &[String], size: i32, leading: i32, x: i32) {
        self.room_for(lines_depth(lines.len(), leading));
        for line in lines {
            self.room_for(0);
            self.text(size, x, line);
            self.y -= leading;
        }
    }
}

/// How far below the first baseline the last of `lines` lines `leading` apart sits.
fn lines_depth(lines: usize, leading: i32) -> i32 {
    i32::try_from(lines.saturating_sub(1))
        .unwrap_or(i32::MAX)
        .saturating_mul(leading)
}

/// Lay the form out on as many pages as it takes.
fn layout(font: &Font<'_>, title: &str, fields: &[Field]) -> Vec<Vec<Mark>> {
    let advance = |c: char| font.char_advance(c);
    let mut pages = Pages::new();

    let title = wrap(title, TITLE_SIZE, RIGHT - LEFT, &advance);
    pages.paragraph(&title, TITLE_SIZE, TITLE_LEADING, LEFT);
    pages.y -= TITLE_GAP;

    for (label, value) in fields {
        let labels = wrap(label, TEXT_SIZE, LABEL_RIGHT - LEFT, &advance);
        let values = wrap(value, TEXT_SIZE, RIGHT - VALUE_LEFT, &advance);
        let rows = labels.len().max(values.len());
        pages.room_for(lines_depth(rows, TEXT_LEADING));
        for row in 0..rows {
            pages.room_for(0);
            if let Some(label) = labels.get(row) {
                pages.text(TEXT_SIZE, LEFT, label);
            }
            if let Some(value) = values.get(row) {
                pages.text(TEXT_SIZE, VALUE_LEFT, value);
            }
            pages.y -= TEXT_LEADING;
        }
        pages.y -= ROW_GAP;
    }

    // The box for the representative's name, 28 pt high, beside its label; then the note,
    // on the same page.
    pages.y -= 20;
    let signature = wrap(SIGNATURE_LABEL, TEXT_SIZE, LABEL_RIGHT - LEFT, &advance);
    let note = wrap(NOTE, NOTE_SIZE, RIGHT - LEFT, &advance);
    pages.room_for(
        lines_depth(signature.len(), TEXT_LEADING)
            + NOTE_GAP
            + lines_depth(note.len(), NOTE_LEADING),
    );
    pages.mark(Mark::Frame {
        x: VALUE_LEFT,
        y: pages.y - 10,
        width: 300,
        height: 28,
    });
    pages.paragraph(&signature, TEXT_SIZE, TEXT_LEADING, LEFT);
    pages.y -= NOTE_GAP - TEXT_LEADING;
    pages.paragraph(&note, NOTE_SIZE, NOTE_LEADING, LEFT);

    let mut pages = pages.pages;
    let count = pages.len();
    if count > 1 {
        for (i, page) in pages.iter_mut().enumerate() {
            let text = format!("{} / {count}", i + 1);
            let width = font.text_width(&text, FOOTER_SIZE) / 1000;
            let x = (PAGE_WIDTH - i32::try_from(width).unwrap_or(0)) / 2;
            page.push(Mark::Text {
                size: FOOTER_SIZE,
                x,
                y: FOOTER_BASELINE,
                text,
            });
        }
    }
    pages
}

/// Write the pages as a PDF with the font subset embedded. Objects: 1 catalog, 2 page tree,
/// 3 Type0 font, 4 CIDFontType2, 5 font descriptor, 6 font file, 7 ToUnicode CMap, then each
/// page and its content stream.
fn render(font: &Font<'_>, pages: &[Vec<Mark>]) -> Result<Vec<u8>, PdfError> {
    // CIDs are glyph ids in the subset, handed out in order of first use (.notdef stays 0).
    let mut remapper = GlyphRemapper::new();
    // By CID: the advance and the character it shows.
    let mut glyphs: Vec<(u32, Option<char>)> = vec![(font.advance(0), None)];
    let mut contents = Vec::with_capacity(pages.len());
    for page in pages {
        let mut content = String::new();
        for mark in page {
            match mark {
                Mark::Text { size, x, y, text } => {
                    let _ = write!(content, "BT /F1 {size} Tf {x} {y} Td <");
                    for c in text.chars() {
                        let glyph = font.glyph(c);
                        let cid = remapper.remap(glyph);
                        let index = usize::from(cid);
                        if index >= glyphs.len() {
                            glyphs.resize(index + 1, (font.advance(glyph), None));
                        }
                        // What a glyph shows is the first character drawn with it
                        // (.notdef shows nothing).
                        if glyph != 0
                            && let Some(entry) = glyphs.get_mut(index)
                            && entry.1.is_none()
                        {
                            entry.1 = Some(c);
                        }
                        let _ = write!(content, "{cid:04X}");
                    }
                    content.push_str("> Tj ET\n");
                }
                Mark::Frame {
                    x,
                    y,
                    width,
                    height,
                } => {
                    let _ = writeln!(content, "0.5 w {x} {y} {width} {height} re S");
                }
            }
        }
        contents.push(content);
    }

    let subset = subsetter::subset(FONT, 0, &remapper)
        .map_err(|e| PdfError(format!("subsetting the font: {e}")))?;
    let name = format!("{}+{FONT_NAME}", subset_tag(&remapper));

    let widths: Vec<String> = glyphs
        .chunks(16)
        .map(|chunk| {
            let chunk: Vec<String> = chunk
                .iter()
                .map(|(advance, _)| advance.to_string())
                .collect();
            chunk.join(" ")
        })
        .collect();
    let widths = widths.join("\n");
    let face = &font.face;
    let bbox = face.global_bounding_box();
    let bbox = [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max].map(|v| font.scale(i32::from(v)));
    let ascent = font.scale(i32::from(face.ascender()));
    let descent = font.scale(i32::from(face.descender()));
    let ascender = face.ascender();
    let cap_height = font.scale(i32::from(face.capital_height().unwrap_or(ascender)));

    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 8 + 2 * i))
        .collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
        format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
             /DescendantFonts [4 0 R] /ToUnicode 7 0 R >>"
        )
        .into_bytes(),
        format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor 5 0 R /DW 1000 /W [0 [{widths}]] /CIDToGIDMap /Identity >>"
        )
        .into_bytes(),
        format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{} {} {} {}] \
             /ItalicAngle 0 /Ascent {ascent} /Descent {descent} /CapHeight {cap_height} \
             /StemV 80 /FontFile2 6 0 R >>",
            bbox[0], bbox[1], bbox[2], bbox[3]
        )
        .into_bytes(),
        flate_stream(&subset, &format!(" /Length1 {}", subset.len())),
        flate_stream(to_unicode(&glyphs).as_bytes(), ""),
    ];
    for (i, content) in contents.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                9 + 2 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }

    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(tail, "{off:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    pdf.extend_from_slice(tail.as_bytes());
    Ok(pdf)
}

/// A stream object compressed with Flate; `extra` adds entries to its dictionary.
fn flate_stream(data: &[u8], extra: &str) -> Vec<u8> {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(data, 9);
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode{extra} >>\nstream\n",
        compressed.len()
    )
    .into_bytes();
    stream.extend_from_slice(&compressed);
    stream.extend_from_slice(b"\nendstream");
    stream
}

/// Six capital letters naming the subset, the same for the same glyphs in the same order.
fn subset_tag(remapper: &GlyphRemapper) -> String {
    let glyphs: Vec<u8> = remapper
        .remapped_gids()
        .flat_map(u16::to_be_bytes)
        .collect();
    Sha256::digest(glyphs)
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect()
}

/// The ToUnicode CMap: each CID to the character it shows, as UTF-16BE (a surrogate pair
/// outside the BMP), in blocks of at most 100 as the format requires.
fn to_unicode(glyphs: &[(u32, Option<char>)]) -> String {
    let entries: Vec<(usize, char)> = glyphs
        .iter()
        .enumerate()
        .filter_map(|(cid, (_, c))| c.map(|c| (cid, c)))
        .collect();
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for block in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", block.len());
        for &(cid, c) in block {
            let _ = write!(cmap, "<{cid:04X}> <");
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(cmap, "{unit:04X}");
            }
            cmap.push_str(">\n");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

    use std::collections::HashMap;

    use super::*;

    fn font() -> Font<'static> {
        Font::load().unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<Field> {
        pairs
            .iter()
            .map(|(l, v)| ((*l).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sample() -> Vec<Field> {
        fields(&[
            ("申請番号", "0b0e5f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
            ("申請の種類", "利用申請"),
            ("団体名", "株式会社ハローキャリア"),
            (
                "所在地",
                "東京都千代田区霞が関1-2-2 中央合同庁舎第5号館 本館 12階 1234号室 （受付は地下1階）",
            ),
            (
                "連絡責任者",
                "山田 太郎 taro.yamada@example.co.jp 03-1234-5678",
            ),
            ("登録日", "2026-12-01"),
        ])
    }

    fn texts(pages: &[Vec<Mark>]) -> Vec<(usize, i32, i32, i32, String)> {
        let mut out = Vec::new();
        for (p, page) in pages.iter().enumerate() {
            for mark in page {
                if let Mark::Text { size, x, y, text } = mark {
                    out.push((p, *size, *x, *y, text.clone()));
                }
            }
        }
        out
    }

    /// One em per character: ten characters fill 100 pt at 10 pt.
    fn em(_: char) -> u32 {
        1000
    }

    #[test]
    fn a_long_value_wraps_within_its_column() {
        let font = font();
        let value: String = "東京都千代田区霞が関一丁目二番二号中央合同庁舎第五号館本館十二階、\
                             ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            .chars()
            .cycle()
            .take(200)
            .collect();
        let column = RIGHT - VALUE_LEFT;
        let lines = wrap(&value, TEXT_SIZE, column, &|c: char| font.char_advance(c));
        assert!(lines.len() >= 5, "{lines:?}");
        for line in &lines {
            let width = font.text_width(line, TEXT_SIZE);
            assert!(
                width <= u64::from(column.unsigned_abs()) * 1000,
                "{line}: {width}"
            );
            assert!(
                width > u64::from(column.unsigned_abs()) * 1000 * 3 / 4
                    || line == lines.last().unwrap(),
                "a line is filled before the next begins: {line}"
            );
        }
        assert_eq!(lines.concat(), value, "nothing is lost");

        // And it moves the rows below it down.
        let form = fields(&[
            ("所在地", value.as_str()),
            ("団体名", "株式会社ハローキャリア"),
        ]);
        let marks = texts(&layout(&font, "申請書", &form));
        let rows: Vec<_> = marks.iter().filter(|m| m.2 == VALUE_LEFT).collect();
        assert_eq!(rows.len(), lines.len() + 1);
        for pair in rows.windows(2) {
            assert_eq!(
                pair[0].3 - pair[1].3,
                if pair[1].4 == "株式会社ハローキャリア" {
                    TEXT_LEADING + ROW_GAP
                } else {
                    TEXT_LEADING
                }
            );
        }
    }

    #[test]
    fn wrapping_keeps_explicit_breaks_and_drops_spaces_at_breaks() {
        assert_eq!(wrap("", 10, 50, &em), vec![String::new()]);
        assert_eq!(wrap("あい\nう", 10, 50, &em), vec!["あい", "う"]);
        assert_eq!(wrap("abcde fghij", 10, 50, &em), vec!["abcde", "fghij"]);
        assert_eq!(wrap("abcd efgh", 10, 50, &em), vec!["abcd", "efgh"]);
        assert_eq!(wrap("a\tb\r", 10, 50, &em), vec!["a b"]);
        // A character wider than the column still gets drawn, on a line of its own.
        assert_eq!(wrap("あいう", 10, 5, &em), vec!["あ", "い", "う"]);
    }

    #[test]
    fn kinsoku_keeps_punctuation_off_the_start_of_a_line() {
        // Five characters a line.
        assert_eq!(
            wrap("あいうえお。かきくけこ", 10, 50, &em),
            vec!["あいうえ", "お。かきく", "けこ"]
        );
        assert_eq!(
            wrap("あいうえ」。かき", 10, 50, &em),
            vec!["あいう", "え」。かき"]
        );
        assert_eq!(
            wrap("あいうえおーか", 10, 50, &em),
            vec!["あいうえ", "おーか"]
        );
        // An opening bracket does not end a line.
        assert_eq!(
            wrap("あいうえ「お」", 10, 50, &em),
            vec!["あいうえ", "「お」"]
        );
        // Nothing to be done about a line of nothing but closing punctuation: it just breaks.
        assert_eq!(
            wrap("。。。。。。。", 10, 50, &em),
            vec!["。。。。。", "。。"]
        );

        let font = font();
        let text = NOTE.repeat(8);
        for width in [100, 154, 200, 319, 483] {
            let lines = wrap(&text, NOTE_SIZE, width, &|c: char| font.char_advance(c));
            assert_eq!(lines.concat(), text);
            for line in &lines[1..] {
                let first = line.chars().next().unwrap();
                assert!(!NO_START.contains(first), "{width}: {line}");
            }
            for line in &lines[..lines.len() - 1] {
                let last = line.chars().last().unwrap();
                assert!(!NO_END.contains(last), "{width}: {line}");
            }
        }
    }

    #[test]
    fn everything_stays_inside_the_margins() {
        let font = font();
        let mut form = sample();
        form.push((
            "とても長い項目名が付いた欄で、ラベルの列にも収まらないもの".to_owned(),
            "短い値".to_owned(),
        ));
        let pages = layout(&font, &"長い表題".repeat(20), &form);
        for (_, size, x, y, text) in texts(&pages) {
            let width = i32::try_from(font.text_width(&text, size) / 1000).unwrap();
            let right = if x == LEFT && size == TEXT_SIZE {
                LABEL_RIGHT
            } else {
                RIGHT
            };
            assert!(x + width <= right, "{text} at {x}: {width}");
            assert!((BOTTOM..=TOP).contains(&y), "{text} at {y}");
        }
    }

    #[test]
    fn many_fields_continue_on_more_pages() {
        let font = font();
        let form: Vec<Field> = (1..=80)
            .map(|i| (format!("項目{i}"), format!("値{i}")))
            .collect();
        let pages = layout(&font, "申請書", &form);
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let marks = texts(&pages);
        for (p, _, _, y, text) in &marks {
            assert!(
                *y >= BOTTOM || *y == FOOTER_BASELINE,
                "{text} on page {p} at {y}"
            );
        }
        // In order, and the signature box and note come last.
        let values: Vec<_> = marks
            .iter()
            .filter(|m| m.2 == VALUE_LEFT)
            .map(|m| m.4.clone())
            .collect();
        assert_eq!(
            values,
            (1..=80).map(|i| format!("値{i}")).collect::<Vec<_>>()
        );
        let last = pages.last().unwrap();
        assert!(last.iter().any(|m| matches!(m, Mark::Frame { .. })));
        assert!(
            last.iter()
                .any(|m| matches!(m, Mark::Text { text, .. } if text == SIGNATURE_LABEL))
        );
        for (i, page) in pages.iter().enumerate() {
            let footer = format!("{} / {}", i + 1, pages.len());
            assert!(
                page.iter()
                    .any(|m| matches!(m, Mark::Text { text, .. } if *text == footer))
            );
        }

        let pdf = application_form("申請書", &form).unwrap();
        let raw = String::from_utf8_lossy(&pdf);
        assert_eq!(raw.matches("/Type /Page ").count(), pages.len());
        assert!(raw.contains(&format!("/Count {}", pages.len())));
        assert_eq!(
            raw.matches("/Type /Font /Subtype /Type0").count(),
            1,
            "one font for all pages"
        );
        assert_eq!(text_of(&pdf).concat().matches("値").count(), 80);
    }

    #[test]
    fn a_short_form_is_one_page() {
        let pages = layout(&font(), "申請書", &sample());
        assert_eq!(pages.len(), 1);
        assert!(
            texts(&pages).iter().all(|m| !m.4.contains(" / ")),
            "no page numbers"
        );
    }

    /// The PDF's structure: the cross-reference table points at each object, and the font is
    /// embedded as a tagged subset.
    #[test]
    fn the_pdf_is_well_formed_and_embeds_its_font() {
        let pdf = application_form("利用申請書", &sample()).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        let raw = String::from_utf8_lossy(&pdf);
        let tail = &raw[raw.rfind("startxref\n").unwrap() + 10..];
        let xref: usize = tail.lines().next().unwrap().parse().unwrap();
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        let mut lines = table.lines();
        assert_eq!(lines.next(), Some("xref"));
        let count: usize = lines.next().unwrap()["0 ".len()..].parse().unwrap();
        assert_eq!(lines.next(), Some("0000000000 65535 f "));
        for n in 1..count {
            let offset: usize = lines.next().unwrap()[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{n} 0 obj\n").as_bytes()),
                "object {n}"
            );
        }
        assert!(table.contains(&format!("/Size {count} ")));

        let base_font = raw
            .split("/BaseFont /")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        let (tag, name) = base_font.split_once('+').unwrap();
        assert_eq!(name, FONT_NAME);
        assert!(
            tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()),
            "{tag}"
        );
        assert!(raw.contains("/FontFile2 6 0 R") && raw.contains("/CIDToGIDMap /Identity"));
        assert!(!raw.contains("HeiseiKakuGo"));

        // The embedded subset is a font with just the glyphs used (and what they are built of).
        let file = inflate(&pdf, 6);
        let subset = Face::parse(&file, 0).unwrap();
        assert!(
            subset.number_of_glyphs() < 200,
            "{}",
            subset.number_of_glyphs()
        );
        assert!(file.len() < 200_000, "{} bytes", file.len());
        assert!(raw.contains(&format!("/Length1 {}", file.len())));

        // The same form is the same bytes.
        assert_eq!(pdf, application_form("利用申請書", &sample()).unwrap());
    }

    /// The text the PDF shows, line by line, read back through its ToUnicode CMap.
    #[test]
    fn the_text_reads_back_through_to_unicode() {
        let font = font();
        let form = sample();
        let pdf =
            application_form("ハローワーク求人・求職情報提供サービス 利用申請書", &form).unwrap();
        let lines = text_of(&pdf);
        assert_eq!(
            lines[0],
            "ハローワーク求人・求職情報提供サービス 利用申請書"
        );
        assert!(lines.iter().any(|l| l == "株式会社ハローキャリア"));
        assert!(lines.iter().any(|l| l == SIGNATURE_LABEL));
        let address = &form[3].1;
        let wrapped = wrap(address, TEXT_SIZE, RIGHT - VALUE_LEFT, &|c: char| {
            font.char_advance(c)
        });
        assert!(wrapped.len() > 1);
        for line in &wrapped {
            assert!(lines.contains(line), "{line}");
        }
        assert!(
            lines.iter().any(|l| l.contains("山田 太郎")),
            "spaces are kept"
        );
    }

    #[test]
    fn invisible_characters_draw_no_box() {
        // 葛 with a variation selector (an IVS name), a zero-width joiner, a byte-order mark.
        let pdf = application_form(
            "申請書",
            &fields(&[("代表者", "\u{FEFF}葛\u{E0100}城\u{200D}太郎")]),
        )
        .unwrap();
        let lines = text_of(&pdf);
        assert!(lines.iter().any(|l| l == "葛城太郎"), "{lines:?}");
        assert_eq!(visible("a\u{FE0F}b\u{00AD}c"), "abc");
    }

    #[test]
    fn characters_the_font_lacks_still_render() {
        let form = fields(&[("団体名", "株式会社\u{E000}ハロー😀"), ("氏名", "𠮟田")]);
        let pdf = application_form("申請書", &form).unwrap();
        let lines = text_of(&pdf);
        assert!(lines.iter().any(|l| l == "株式会社ハロー"), "{lines:?}");
        // Outside the BMP, through a surrogate pair.
        assert!(lines.iter().any(|l| l == "𠮟田"), "{lines:?}");
    }

    /// The stream of object `n`, inflated.
    fn inflate(pdf: &[u8], n: usize) -> Vec<u8> {
        let start = find(pdf, format!("\n{n} 0 obj\n").as_bytes()).unwrap();
        let dict = &pdf[start..];
        let length: usize = std::str::from_utf8(&dict[..find(dict, b"stream\n").unwrap()])
            .unwrap()
            .split("/Length ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let data = find(dict, b"stream\n").unwrap() + 7;
        miniz_oxide::inflate::decompress_to_vec_zlib(&dict[data..data + length]).unwrap()
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Each text showing (`<...> Tj`) in the content streams, decoded with the ToUnicode CMap;
    /// CIDs without an entry (.notdef) read as nothing.
    fn text_of(pdf: &[u8]) -> Vec<String> {
        let cmap = String::from_utf8(inflate(pdf, 7)).unwrap();
        let mut map = HashMap::new();
        let mut in_block = false;
        for line in cmap.lines() {
            if line.ends_with("beginbfchar") || line == "endbfchar" {
                in_block = line != "endbfchar";
                continue;
            }
            if !in_block {
                continue;
            }
            let (cid, unicode) = line.split_once("> <").unwrap();
            let cid = u16::from_str_radix(&cid[1..], 16).unwrap();
            let units: Vec<u16> = unicode
                .trim_end_matches('>')
                .as_bytes()
                .chunks(4)
                .map(|u| u16::from_str_radix(std::str::from_utf8(u).unwrap(), 16).unwrap())
                .collect();
            map.insert(cid, String::from_utf16(&units).unwrap());
        }
        let raw = String::from_utf8_lossy(pdf);
        let mut lines = Vec::new();
        for showing in raw.split(" Td <").skip(1) {
            let hex = showing.split('>').next().unwrap();
            let text: String = hex
                .as_bytes()
                .chunks(4)
                .map(|u| {
                    let cid = u16::from_str_radix(std::str::from_utf8(u).unwrap(), 16).unwrap();
                    map.get(&cid).cloned().unwrap_or_default()
                })
                .collect();
            lines.push(text);
        }
        lines
    }
}
