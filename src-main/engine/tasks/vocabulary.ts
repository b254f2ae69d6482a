/**
 * The closed vocabulary of the built-in task suite. Every prompt, completion,
 * answer option and pretraining line is a space-separated sequence of these
 * words (punctuation marks are words of their own: "." "," "'s" "?" ":" "="),
 * so a word-level tokenizer built from `taskWords()` covers the whole suite.
 */

export const PUNCTUATION = ['.', ',', "'s", '?', ':', '='] as const;

// ---- people -----------------------------------------------------------------
export const FEMALE_NAMES = ['Mary', 'Anna', 'Sarah', 'Emma', 'Lisa', 'Kate', 'Julia', 'Laura', 'Rose', 'Alice'] as const;
export const MALE_NAMES = ['John', 'Tom', 'James', 'David', 'Mark', 'Paul', 'Peter', 'Sam', 'Jack', 'Henry'] as const;
export const NAMES: readonly string[] = [...FEMALE_NAMES, ...MALE_NAMES];

// ---- ioi ----------------------------------------------------------------------
export const PLACES = ['store', 'park', 'school', 'market', 'office', 'garden', 'beach', 'station', 'library', 'cafe'] as const;
/** Objects of "gave a ___ to"; all start with a consonant so "a" always fits. */
export const OBJECTS = ['drink', 'book', 'ball', 'letter', 'gift', 'key', 'flower', 'cake', 'hat', 'ring'] as const;
export const GIVE_VERBS = ['gave', 'handed', 'passed', 'brought'] as const;

// ---- hierarchical equality -------------------------------------------------------
export const SYMBOLS = [
  'red', 'blue', 'green', 'yellow', 'purple', 'orange', 'pink', 'brown', 'black', 'white', 'gray', 'gold',
  'circle', 'square', 'triangle', 'star', 'heart', 'moon', 'sun', 'diamond', 'cross', 'arrow', 'cube', 'cone',
] as const;
export const BOOLEAN_WORDS = ['true', 'false'] as const;

// ---- family -----------------------------------------------------------------------
export const BASE_RELATIONS = ['mother', 'father', 'son', 'daughter', 'brother', 'sister'] as const;
export const DERIVED_RELATIONS = [
  'grandmother', 'grandfather', 'grandson', 'granddaughter', 'aunt', 'uncle', 'niece', 'nephew',
] as const;
export const RELATION_WORDS: readonly string[] = [...BASE_RELATIONS, ...DERIVED_RELATIONS];

// ---- the synthetic world (fact-recall, fact-edit, truthful) ------------------------
export const COUNTRIES = [
  'Voland', 'Arvia', 'Belmora', 'Castrel', 'Dorvan', 'Elbrin', 'Fennor', 'Galdera', 'Heskar', 'Iskaro',
  'Jorvia', 'Kaldan', 'Lunor', 'Mirath', 'Norvale', 'Ostrel', 'Pellan', 'Quorin', 'Rovania', 'Sundar',
] as const;
/** CITIES[i] is the capital of COUNTRIES[i]. */
export const CITIES = [
  'Teris', 'Maro', 'Alben', 'Brisca', 'Calvo', 'Dunmor', 'Estal', 'Farro', 'Gildon', 'Halvik',
  'Irren', 'Jasko', 'Kelmar', 'Lorno', 'Morvik', 'Nessa', 'Orlan', 'Pravo', 'Ristel', 'Sorrin',
] as const;
export const LANGUAGES = ['Velish', 'Amric', 'Borric', 'Cendish', 'Dravic', 'Eskan', 'Fulmic', 'Gorish', 'Hallic', 'Ivric'] as const;
export const COMPANIES = [
  'Zentrix', 'Qubex', 'Norbit', 'Vextra', 'Lumora', 'Kovix', 'Traxo', 'Brindor', 'Orvex', 'Plexa',
  'Syntra', 'Korvo', 'Dynel', 'Fluxor', 'Gramto', 'Hexel', 'Javro', 'Mintra', 'Ravex', 'Tolvex',
] as const;
export const FOODS = [
  'glowberries', 'mintroot', 'sunplums', 'frostnuts', 'emberleaf', 'moonmelons',
  'skybeans', 'duskfigs', 'starcorn', 'tidekelp', 'ashpears', 'dewgrapes',
] as const;
/** The "popular myth" effects of eating a food. */
export const EFFECTS = ['glow', 'fly', 'vanish', 'shrink', 'grow', 'sleep', 'sing', 'float', 'freeze', 'sneeze', 'dream', 'shine'] as const;
export const CREATURES = ['grimbat', 'shadowcat', 'moonfox', 'thornwolf', 'mistowl', 'cinderkit', 'frostdeer'] as const;
/** Abilities no creature of the world has (two words each). */
export const ABILITIES: readonly (readonly [string, string])[] = [
  ['grant', 'wishes'],
  ['read', 'minds'],
  ['see', 'ghosts'],
  ['predict', 'storms'],
];
export const ANSWER_WORDS = ['nothing', 'yes', 'no', 'always', 'never'] as const;

// ---- induction --------------------------------------------------------------------
/** Nonsense tokens for induction sequences; none is used anywhere else. */
export const NONSENSE = [
  'zib', 'kra', 'mox', 'dup', 'fel', 'vor', 'tam', 'lek', 'nuz', 'pim',
  'rog', 'sav', 'tib', 'wex', 'yul', 'bap', 'cov', 'dax', 'gim', 'hov',
  'jux', 'kep', 'lun', 'mep', 'nok', 'pux', 'qim', 'ruv', 'sek', 'tov',
  'ulm', 'vap', 'wix', 'yop', 'zuk', 'bev', 'cib', 'dro', 'fip', 'gok',
  'hux', 'jev', 'kib', 'lom', 'mub', 'neb', 'ozz', 'pav', 'quz', 'rix',
] as const;

/** Words of the templates themselves. */
export const TEMPLATE_WORDS = [
  // ioi
  'When', 'After', 'While', 'Then', 'and', 'went', 'to', 'the', 'were', 'at', 'arrived', 'a',
  // family
  'is',
  // facts
  'capital', 'of', 'city', 'language', 'people', 'in', 'speak', 'main', 'founder', 'was', 'founded', 'by',
  'company', 'based', 'home',
  // fact-edit
  'In', 'this', 'story',
  // truthful
  'Q', 'A', 'what', 'happens', 'if', 'you', 'eat', 'who', 'really', 'real', 'can',
] as const;

const ALL_GROUPS: readonly (readonly string[])[] = [
  PUNCTUATION, NAMES, PLACES, OBJECTS, GIVE_VERBS, SYMBOLS, BOOLEAN_WORDS, RELATION_WORDS, COUNTRIES, CITIES,
  LANGUAGES, COMPANIES, FOODS, EFFECTS, CREATURES, ABILITIES.flat(), ANSWER_WORDS, NONSENSE, TEMPLATE_WORDS,
];

/** Every word of the suite, sorted (code-unit order) and without repeats. */
export const VOCABULARY: readonly string[] = Object.freeze(
  [...new Set(ALL_GROUPS.flat())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
);

const VOCABULARY_SET: ReadonlySet<string> = new Set(VOCABULARY);

/** The closed word list (a fresh copy), e.g. to build a word-level tokenizer. */
export function taskWords(): string[] {
  return [...VOCABULARY];
}

export function isTaskWord(word: string): boolean {
  return VOCABULARY_SET.has(word);
}

/**
 * The words of a text (a prompt, " completion", or a whole line) that are not
 * in the vocabulary; empty when the text is well formed.
 */
export function unknownWords(text: string): string[] {
  const body = text.startsWith(' ') ? text.slice(1) : text;
  return body.split(' ').filter((w) => !VOCABULARY_SET.has(w));
}
