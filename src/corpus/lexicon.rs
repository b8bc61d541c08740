//! The corpus lexicon: spoken-movie-review vocabulary in MOSI's upper case. Sentiment words
//! carry a valence on the [-3, 3] scale.

/// (word, valence) for adjectives that can follow "WAS".
pub const POSITIVE: &[(&str, f32)] = &[
    ("GOOD", 1.5),
    ("GREAT", 2.2),
    ("AMAZING", 2.6),
    ("AWESOME", 2.5),
    ("FUNNY", 1.6),
    ("FUN", 1.4),
    ("ENJOYABLE", 1.6),
    ("BRILLIANT", 2.5),
    ("WONDERFUL", 2.4),
    ("NICE", 1.2),
    ("SOLID", 1.0),
    ("CLEVER", 1.5),
    ("CHARMING", 1.6),
    ("BEAUTIFUL", 2.0),
    ("FANTASTIC", 2.6),
    ("EXCELLENT", 2.5),
    ("ENTERTAINING", 1.6),
    ("SWEET", 1.2),
    ("TOUCHING", 1.6),
    ("HILARIOUS", 2.2),
    ("DECENT", 0.8),
    ("PERFECT", 2.7),
    ("LOVELY", 1.8),
    ("STRONG", 1.2),
    ("FRESH", 1.2),
    ("EXCITING", 1.9),
    ("SMART", 1.4),
    ("GORGEOUS", 2.1),
    ("COOL", 1.3),
    ("IMPRESSIVE", 1.9),
    ("MOVING", 1.7),
    ("DELIGHTFUL", 2.2),
    ("SUPERB", 2.5),
    ("FABULOUS", 2.4),
    ("SHARP", 1.2),
];

/// (word, valence) for adjectives that can follow "WAS".
pub const NEGATIVE: &[(&str, f32)] = &[
    ("BAD", -1.5),
    ("TERRIBLE", -2.5),
    ("AWFUL", -2.5),
    ("BORING", -1.8),
    ("DULL", -1.5),
    ("STUPID", -2.0),
    ("WEAK", -1.2),
    ("MESSY", -1.3),
    ("LAME", -1.6),
    ("HORRIBLE", -2.6),
    ("PAINFUL", -2.0),
    ("SLOW", -1.0),
    ("CHEESY", -1.0),
    ("ANNOYING", -1.8),
    ("FORGETTABLE", -1.3),
    ("RIDICULOUS", -1.6),
    ("POINTLESS", -2.0),
    ("DISAPPOINTING", -2.0),
    ("UGLY", -1.5),
    ("FLAT", -1.0),
    ("CONFUSING", -1.3),
    ("TIRED", -1.0),
    ("MEDIOCRE", -1.0),
    ("AWKWARD", -1.2),
    ("CLUMSY", -1.3),
    ("BLAND", -1.2),
    ("PREDICTABLE", -1.1),
    ("SILLY", -0.9),
    ("UNBEARABLE", -2.6),
    ("TERRIFYING", -1.4),
    ("CHEAP", -1.4),
    ("SLOPPY", -1.6),
];

/// Verbs of liking and disliking: "I LOVED THE PLOT".
pub const POSITIVE_VERBS: &[(&str, f32)] = &[
    ("LOVED", 2.3),
    ("LIKED", 1.3),
    ("ENJOYED", 1.6),
    ("ADORED", 2.5),
    ("APPRECIATED", 1.2),
];
/// Verbs of disliking: "I HATED THE PLOT".
pub const NEGATIVE_VERBS: &[(&str, f32)] = &[
    ("HATED", -2.4),
    ("DISLIKED", -1.5),
    ("REGRETTED", -1.8),
    ("DESPISED", -2.6),
    ("MISSED", -0.8),
];

/// Things a review talks about.
pub const NOUNS: &[&str] = &[
    "MOVIE",
    "FILM",
    "PLOT",
    "STORY",
    "ACTING",
    "CAST",
    "ENDING",
    "MUSIC",
    "SOUNDTRACK",
    "DIALOGUE",
    "SCRIPT",
    "VILLAIN",
    "HERO",
    "CHARACTERS",
    "EFFECTS",
    "CAMERA",
    "DIRECTING",
    "PACING",
    "SCENES",
    "JOKES",
    "ROMANCE",
    "ACTION",
    "SEQUEL",
    "TRAILER",
    "TWIST",
    "LEAD",
    "ACTRESS",
    "ACTOR",
    "COSTUMES",
    "SETTING",
    "VISUALS",
    "HUMOR",
    "OPENING",
    "MIDDLE",
    "FINALE",
    "MONTAGE",
    "SCORE",
    "EDITING",
    "LIGHTING",
    "CHEMISTRY",
    "STUNTS",
    "ANIMATION",
    "REMAKE",
    "COMEDY",
    "DRAMA",
    "THRILLER",
    "DIRECTOR",
    "WRITING",
    "SUBPLOT",
    "FIGHTS",
];

/// Intensifiers scale the next sentiment word.
pub const INTENSIFIERS: &[(&str, f32)] = &[
    ("REALLY", 1.3),
    ("VERY", 1.3),
    ("SO", 1.25),
    ("EXTREMELY", 1.5),
    ("TOTALLY", 1.4),
    ("INCREDIBLY", 1.5),
];

/// Hedges soften it.
pub const HEDGES: &[&str] = &["KIND OF", "SORT OF", "PRETTY", "A LITTLE", "SOMEWHAT", "FAIRLY"];
/// What a hedge multiplies the valence by.
pub const HEDGE_SCALE: f32 = 0.6;

/// Negation flips and dampens ("NOT GREAT" is mildly negative).
pub const NEGATORS: &[&str] = &["NOT", "NEVER"];
/// What a negator multiplies the valence by.
pub const NEGATION_SCALE: f32 = -0.6;

/// Spoken openers and fillers, sentiment-neutral.
pub const OPENERS: &[&str] = &[
    "UM",
    "UH",
    "SO",
    "WELL",
    "HONESTLY",
    "OKAY SO",
    "AND",
    "I MEAN",
    "YOU KNOW",
    "BASICALLY",
    "ANYWAY",
    "UH YEAH",
    "LIKE",
    "ACTUALLY",
    "OVERALL",
    "I GUESS",
    "FIRST OF ALL",
    "RIGHT",
];

/// Ways to say "I think".
pub const STANCES: &[&str] = &[
    "I THOUGHT",
    "I FELT",
    "I THINK",
    "I FOUND THAT",
    "TO ME",
    "IN MY OPINION",
    "I WOULD SAY",
    "HONESTLY I THINK",
];

/// Clause connectives of contrast for mixed utterances.
pub const CONTRASTS: &[&str] = &["BUT", "THOUGH", "HOWEVER", "WHEREAS", "BUT THEN", "YET", "ALTHOUGH"];

/// Neutral tails.
pub const TAILS: &[&str] = &[
    "",
    "",
    "",
    "",
    "IF YOU ASK ME",
    "FOR SURE",
    "TO BE HONEST",
    "I GUESS",
    "YOU KNOW",
    "OVERALL",
    "IN THE END",
    "FOR THE MOST PART",
    "AT LEAST FOR ME",
];

/// Words the generator's sentence frames spell out themselves (not drawn from a list above).
pub const FUNCTION_WORDS: &[&str] = &[
    "THE", "WAS", "WERE", "IT", "A", "AN", "I", "THAT", "THIS", "WHOLE", "PART", "ALSO", "ONE", "WITH", "WHAT",
];

/// Every word the generator can emit (for the from-scratch vocabulary).
pub fn all_words() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |s: &str| words.extend(s.split_whitespace().map(str::to_string));
    for (w, _) in POSITIVE
        .iter()
        .chain(NEGATIVE)
        .chain(POSITIVE_VERBS)
        .chain(NEGATIVE_VERBS)
        .chain(INTENSIFIERS)
    {
        add(w);
    }
    for s in NOUNS
        .iter()
        .chain(HEDGES)
        .chain(NEGATORS)
        .chain(OPENERS)
        .chain(STANCES)
        .chain(CONTRASTS)
        .chain(TAILS)
    {
        add(s);
    }
    for s in FUNCTION_WORDS {
        add(s);
    }
    words.sort();
    words.dedup();
    words
}
