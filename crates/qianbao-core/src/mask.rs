//! Masked forms for display: the middle of an identifier replaced by `*`.

/// Keeps the first `keep_start` and last `keep_end` characters of `s` and replaces the rest with `*`.
/// When `s` is too short to hide anything that way, every character is masked.
///
/// ```
/// use qianbao_core::mask::mask_middle;
/// assert_eq!(mask_middle("110105194912310021", 6, 4), "110105********0021");
/// assert_eq!(mask_middle("abc", 2, 2), "***");
/// ```
pub fn mask_middle(s: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if keep_start + keep_end >= n {
        return "*".repeat(n);
    }
    let mut out = String::with_capacity(s.len());
    out.extend(&chars[..keep_start]);
    out.extend(std::iter::repeat_n('*', n - keep_start - keep_end));
    out.extend(&chars[n - keep_end..]);
    out
}

/// A name for display: the first character kept, the rest masked (`王小明` → `王**`).
///
/// ```
/// use qianbao_core::mask::mask_name;
/// assert_eq!(mask_name("张三"), "张*");
/// assert_eq!(mask_name("王小明"), "王**");
/// ```
pub fn mask_name(name: &str) -> String {
    let n = name.chars().count();
    if n <= 1 {
        return "*".repeat(n);
    }
    mask_middle(name, 1, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_by_characters_not_bytes() {
        assert_eq!(mask_middle("6222021234567890123", 4, 4), "6222***********0123");
        assert_eq!(mask_middle("", 1, 1), "");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name("阿依古丽·买买提"), "阿*******");
    }
}
