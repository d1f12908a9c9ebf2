//! Misspelt variables: a name in the environment that looks like one of ours but is not (like
//! `BANDWITH_LIMIT_GB`) is named once at start with the declared variable it is closest to.

use super::table::VARIABLES;

/// Names longer than this are never compared (the distance table is a fixed array).
const MAX_NAME: usize = 64;
/// Warnings given at most, however many odd variables the environment holds.
pub const MAX_WARNINGS: usize = 8;
/// Variables every shell or container sets, never a misspelling of ours.
const SYSTEM: [&str; 12] =
    ["PATH", "HOME", "USER", "SHELL", "TERM", "PWD", "OLDPWD", "LANG", "HOSTNAME", "LOGNAME", "TZ", "SHLVL"];

/// Levenshtein distance between two ASCII names (one row of the table; `None` past [`MAX_NAME`]).
pub fn edit_distance(a: &str, b: &str) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > MAX_NAME || b.len() > MAX_NAME {
        return None;
    }
    let mut row = [0usize; MAX_NAME + 1];
    for (j, cell) in row.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    Some(row[b.len()])
}

/// `A_B_C` shape: capitals, digits and underscores, starting with a capital.
fn upper_snake(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The same words in another order (`LIMIT_BANDWIDTH_GB`).
fn same_words(a: &str, b: &str) -> bool {
    fn words(s: &str) -> Vec<&str> {
        let mut w: Vec<&str> = s.split('_').filter(|w| !w.is_empty()).collect();
        w.sort_unstable();
        w
    }
    words(a) == words(b)
}

/// The declared variable `name` is probably a misspelling of, if any: an UPPER_SNAKE name that
/// is not ours, within one edit (two for names of 8 characters or more), or our words reordered.
pub fn closest(name: &str) -> Option<&'static str> {
    if !upper_snake(name) || SYSTEM.contains(&name) || VARIABLES.iter().any(|v| v.name == name) {
        return None;
    }
    let allowed = if name.len() >= 8 { 2 } else { 1 };
    let (distance, var) = VARIABLES.iter().filter_map(|v| Some((edit_distance(name, v.name)?, v.name))).min()?;
    if distance <= allowed {
        return Some(var);
    }
    VARIABLES.iter().find(|v| same_words(name, v.name)).map(|v| v.name)
}

/// One line per misspelt name among `names` (at most [`MAX_WARNINGS`]), in the order given.
pub fn warnings<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Vec<String> {
    names
        .into_iter()
        .filter_map(|n| closest(n.as_ref()).map(|var| format!("unknown variable {}: did you mean {var}?", n.as_ref())))
        .take(MAX_WARNINGS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", ""), Some(0));
        assert_eq!(edit_distance("PORT", "PORT"), Some(0));
        assert_eq!(edit_distance("BOT_TOKN", "BOT_TOKEN"), Some(1));
        assert_eq!(edit_distance("BANDWITH_LIMIT_GB", "BANDWIDTH_LIMIT_GB"), Some(1));
        assert_eq!(edit_distance("KITTEN", "SITTING"), Some(3));
        assert_eq!(edit_distance("ABC", ""), Some(3));
        assert_eq!(edit_distance(&"A".repeat(65), "A"), None);
    }

    #[test]
    fn close_names_and_reordered_words_get_the_declared_name() {
        assert_eq!(closest("BANDWITH_LIMIT_GB"), Some("BANDWIDTH_LIMIT_GB"));
        assert_eq!(closest("BOT_TOKN"), Some("BOT_TOKEN"));
        assert_eq!(closest("ADMIN"), Some("ADMINS"));
        assert_eq!(closest("LIMIT_BANDWIDTH_GB"), Some("BANDWIDTH_LIMIT_GB"));
        assert_eq!(closest("DATADIR"), Some("DATA_DIR"));
    }

    #[test]
    fn declared_system_and_unrelated_names_get_no_warning() {
        for name in ["BOT_TOKEN", "PATH", "HOME", "HOSTNAME", "RUST_BACKTRACE", "CARGO_HOME", "LC_ALL", "bot_token"] {
            assert_eq!(closest(name), None, "{name}");
        }
        assert_eq!(
            warnings(["PATH", "BOT_TOKN", "HOME", "PORTT"]),
            ["unknown variable BOT_TOKN: did you mean BOT_TOKEN?", "unknown variable PORTT: did you mean PORT?"]
        );
    }

    #[test]
    fn the_compose_files_own_variables_are_no_misspellings() {
        // Substituted from .env (like ${STREAMBOT_PUBLISH}), they also reach the container
        // through env_file, where a warning would send people renaming a correct variable.
        let compose = [include_str!("../../docker-compose.yml"), include_str!("../../docker-compose.cloud.yml")];
        let names: Vec<&str> = compose
            .iter()
            .flat_map(|text| text.split("${").skip(1))
            .map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or(""))
            .collect();
        assert!(names.contains(&"STREAMBOT_PUBLISH"), "{names:?}");
        assert_eq!(warnings(&names), Vec::<String>::new());
    }
}
