//! Turns a terminal screen captured with ANSI colours (`tmux capture-pane -e`) into an SVG
//! image with a dark background, for the README.

/// Width of a character cell, in pixels.
const CELL_W: f32 = 8.4;
/// Height of a character cell, in pixels.
const CELL_H: f32 = 17.0;
/// Background of the image.
const BACKGROUND: &str = "#1d1f21";
/// Default text colour.
const FOREGROUND: &str = "#d0d0d0";
/// The eight ANSI colours, then their bright versions.
const PALETTE: [&str; 16] = [
    "#1d1f21", "#e05561", "#8cc265", "#d18f52", "#4aa5f0", "#c162de", "#42b3c2", "#d0d0d0",
    "#5c6370", "#ff616e", "#a5e075", "#f0a45d", "#4dc4ff", "#de73ff", "#4cd1e0", "#ffffff",
];

/// The look of a run of characters.
/// A terminal colour: one of the 256 palette entries, or a true colour.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Colour {
    Indexed(usize),
    Rgb(usize, usize, usize),
}

impl Colour {
    /// The colour as `#rrggbb`: the 16 theme colours, xterm's 6x6x6 cube and grey ramp.
    fn hex(self) -> String {
        match self {
            Colour::Indexed(c) if c < 16 => PALETTE[c].to_string(),
            Colour::Indexed(c) if c < 232 => {
                let level = |v: usize| if v == 0 { 0 } else { 55 + 40 * v };
                let c = c - 16;
                format!(
                    "#{:02x}{:02x}{:02x}",
                    level(c / 36),
                    level(c / 6 % 6),
                    level(c % 6)
                )
            }
            Colour::Indexed(c) => {
                let grey = 8 + 10 * (c.min(255) - 232);
                format!("#{grey:02x}{grey:02x}{grey:02x}")
            }
            Colour::Rgb(r, g, b) => {
                format!("#{:02x}{:02x}{:02x}", r.min(255), g.min(255), b.min(255))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Pen {
    fg: Option<Colour>,
    bg: Option<Colour>,
    bold: bool,
    dim: bool,
    reverse: bool,
}

impl Pen {
    /// Applies the parameters of one SGR sequence (`ESC [ ... m`).
    fn apply(&mut self, params: &str) {
        let codes: Vec<usize> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Pen::default(),
                1 => self.bold = true,
                2 => self.dim = true,
                22 => (self.bold, self.dim) = (false, false),
                7 => self.reverse = true,
                27 => self.reverse = false,
                c @ 30..=37 => self.fg = Some(Colour::Indexed(c - 30)),
                c @ 90..=97 => self.fg = Some(Colour::Indexed(c - 90 + 8)),
                39 => self.fg = None,
                c @ 40..=47 => self.bg = Some(Colour::Indexed(c - 40)),
                c @ 100..=107 => self.bg = Some(Colour::Indexed(c - 100 + 8)),
                49 => self.bg = None,
                38 | 48 => {
                    // 256-colour (5;N) or RGB (2;R;G;B).
                    let colour = match codes.get(i + 1) {
                        Some(5) => codes.get(i + 2).copied().map(Colour::Indexed),
                        Some(2) => match (codes.get(i + 2), codes.get(i + 3), codes.get(i + 4)) {
                            (Some(&r), Some(&g), Some(&b)) => Some(Colour::Rgb(r, g, b)),
                            _ => None,
                        },
                        _ => None,
                    };
                    if codes[i] == 38 {
                        self.fg = colour;
                    } else {
                        self.bg = colour;
                    }
                    i += if codes.get(i + 1) == Some(&2) { 4 } else { 2 };
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Text and background colours, after reversal.
    fn colours(&self) -> (String, Option<String>) {
        let fg = self.fg.map_or(FOREGROUND.to_string(), Colour::hex);
        let bg = self.bg.map(Colour::hex);
        if self.reverse {
            (bg.unwrap_or_else(|| BACKGROUND.into()), Some(fg))
        } else {
            (fg, bg)
        }
    }
}

/// Splits one captured line into runs of equally styled characters.
fn runs(line: &str, pen: &mut Pen) -> Vec<(Pen, String)> {
    let mut runs: Vec<(Pen, String)> = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            let mut params = String::new();
            for p in chars.by_ref() {
                if p.is_ascii_alphabetic() {
                    if p == 'm' {
                        pen.apply(&params);
                    }
                    break;
                }
                params.push(p);
            }
            continue;
        }
        match runs.last_mut() {
            Some((p, text)) if p == pen => text.push(c),
            _ => runs.push((*pen, c.to_string())),
        }
    }
    runs
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The part of a cell a block element covers, as fractions (left, top, right, bottom).
fn block_shape(c: char) -> Option<(f32, f32, f32, f32)> {
    let eighth = |n: u32| n as f32 / 8.0;
    match c {
        '█' => Some((0.0, 0.0, 1.0, 1.0)),
        '▀' => Some((0.0, 0.0, 1.0, 0.5)),
        '▁'..='▇' => Some((0.0, 1.0 - eighth(c as u32 - 0x2580), 1.0, 1.0)),
        '▉'..='▏' => Some((0.0, 0.0, eighth(0x2590 - c as u32), 1.0)),
        _ => None,
    }
}

/// Appends one cell-aligned piece of text.
fn push_text(svg: &mut String, col: usize, y: f32, text: &str, pen: &Pen, fg: &str) {
    let weight = if pen.bold {
        " font-weight=\"bold\""
    } else {
        ""
    };
    let opacity = if pen.dim { " opacity=\"0.6\"" } else { "" };
    *svg += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" textLength=\"{:.1}\" lengthAdjust=\"spacingAndGlyphs\" \
         fill=\"{fg}\"{weight}{opacity}>{}</text>\n",
        col as f32 * CELL_W,
        y + CELL_H * 0.78,
        text.chars().count() as f32 * CELL_W,
        escape(text)
    );
}

/// Appends a run: its background, then its words as text and block elements as rectangles
/// (so half-block pixels and bars tile without gaps).
fn push_run(svg: &mut String, start: usize, y: f32, text: &str, pen: &Pen) {
    let (fg, bg) = pen.colours();
    let n = text.chars().count();
    if let Some(bg) = bg {
        *svg += &format!(
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{CELL_H}\" fill=\"{bg}\"/>\n",
            start as f32 * CELL_W,
            n as f32 * CELL_W
        );
    }
    let mut word = String::new();
    let mut word_start = start;
    for (i, c) in text.chars().enumerate() {
        let col = start + i;
        let shape = block_shape(c);
        if c == ' ' || shape.is_some() {
            if !word.is_empty() {
                push_text(svg, word_start, y, &word, pen, &fg);
                word.clear();
            }
            if let Some((l, t, r, b)) = shape {
                *svg += &format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{fg}\"/>\n",
                    (col as f32 + l) * CELL_W,
                    y + t * CELL_H,
                    (r - l) * CELL_W,
                    (b - t) * CELL_H
                );
            }
            continue;
        }
        if word.is_empty() {
            word_start = col;
        }
        word.push(c);
    }
    if !word.is_empty() {
        push_text(svg, word_start, y, &word, pen, &fg);
    }
}

/// An SVG of a `width` x `height` screen captured with ANSI colours.
pub fn from_ansi(capture: &str, width: u16, height: u16) -> String {
    let (w, h) = (f32::from(width) * CELL_W, f32::from(height) * CELL_H);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.1} {h:.1}\" font-family=\"'DejaVu Sans Mono', Menlo, Consolas, monospace\" \
         font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"{BACKGROUND}\"/>\n"
    );
    let mut pen = Pen::default();
    for (row, line) in capture.lines().take(usize::from(height)).enumerate() {
        let y = row as f32 * CELL_H;
        let mut col = 0usize;
        for (run_pen, text) in runs(line, &mut pen) {
            push_run(&mut svg, col, y, &text, &run_pen);
            col += text.chars().count();
        }
    }
    svg + "</svg>\n"
}
