//! The application form as a PDF (AP2): the application's content and a box where the
//! representative writes their name before it is emailed to the bureau.
//!
//! A single A4 page written directly: text in the standard Japanese CID font HeiseiKakuGo-W5
//! (UniJIS-UCS2-HW-H: ASCII in half-width glyphs), which every PDF reader provides, so nothing
//! needs embedding.

use std::fmt::Write as _;

/// One line of the form: a label and its value.
pub type Field = (String, String);

/// UTF-16 code units as a PDF hex string (the UCS-2 encoding covers the BMP: all JIS kanji).
fn hex(text: &str) -> String {
    let mut out = String::from("<");
    for unit in text.encode_utf16() {
        // The half-width space has no glyph in the substituted fonts of common readers: use the
        // ideographic space.
        let unit = if unit == 0x20 { 0x3000 } else { unit };
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// Render the form. `title` is the heading; `fields` are printed in order.
pub fn application_form(title: &str, fields: &[Field]) -> Vec<u8> {
    let mut content = String::new();
    content.push_str("BT /F1 16 Tf 56 790 Td ");
    let _ = writeln!(content, "{} Tj ET", hex(title));
    let mut y = 750;
    for (label, value) in fields {
        let _ = writeln!(content, "BT /F1 10 Tf 56 {y} Td {} Tj ET", hex(label));
        let _ = writeln!(content, "BT /F1 10 Tf 220 {y} Td {} Tj ET", hex(value));
        y -= 20;
    }
    y -= 20;
    let _ = writeln!(
        content,
        "BT /F1 10 Tf 56 {y} Td {} Tj ET",
        hex("代表者氏名（自署）")
    );
    // The box for the representative's name.
    let _ = writeln!(content, "0.5 w 220 {} 300 28 re S", y - 10);
    y -= 50;
    let note =
        "本書に代表者氏名を記入し、登録日の翌日から14日以内に管轄労働局へ提出してください（D1）。";
    let _ = writeln!(content, "BT /F1 9 Tf 56 {y} Td {} Tj ET", hex(note));

    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UCS2-HW-H /DescendantFonts [6 0 R] >>"
            .to_owned(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 /W [231 389 500] >>"
            .to_owned(),
        "<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 /FontBBox [-92 -250 1010 922] \
         /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 737 /StemV 114 >>"
            .to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
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
    pdf
}

/// The hex form of `text` as it appears in the PDF: tests look for field values with it.
pub fn encoded(text: &str) -> String {
    hex(text)
}
