/** Seeded synthetic English in two styles, for the built-in quickstart task when no real
 * corpus is at hand: 'stories' (short children's-story sentences, the tiny model's
 * "pretraining" text) and 'verse' (archaic, Shakespeare-flavoured lines, the text it is
 * adapted to). Same style, seed and length: same text. */
import { mulberry32, type Rng } from '../tensor/random.js';

export type TextStyle = 'stories' | 'verse';

const STORIES = {
  name: ['Tom', 'Lily', 'Ben', 'Sue', 'Max', 'Anna'],
  verb: ['saw', 'found', 'liked', 'had', 'wanted', 'lost'],
  adj: ['red', 'big', 'little', 'happy', 'shiny', 'soft'],
  noun: ['ball', 'dog', 'cat', 'tree', 'box', 'kite'],
  place: ['in the park', 'at home', 'by the sea', 'under the bed', 'in the garden'],
  end: ['They played all day.', 'It was a good day.', 'Mom smiled.', 'They were friends.'],
};

const VERSE = {
  call: ['O', 'Alas,', 'Hark,', 'Good', 'Sweet', 'Fair'],
  who: ['lord', 'lady', 'prince', 'friend', 'queen', 'knight'],
  verb: ['doth love', 'shall see', 'hath lost', 'dost fear', 'wilt keep', 'must leave'],
  thing: ['the night', 'thy heart', 'my crown', 'this sword', 'the moon', 'thine eyes'],
  tail: ['and weep no more.', 'ere the dawn.', 'for honour sake.', 'till death.', 'and so farewell.'],
};

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

function storyLine(rng: Rng): string {
  const s = STORIES;
  const who = pick(rng, s.name);
  return `${who} ${pick(rng, s.verb)} a ${pick(rng, s.adj)} ${pick(rng, s.noun)} ${pick(rng, s.place)}. ${pick(rng, s.end)}`;
}

function verseLine(rng: Rng): string {
  const v = VERSE;
  return `${pick(rng, v.call)} ${pick(rng, v.who)}, thou ${pick(rng, v.verb)} ${pick(rng, v.thing)} ${pick(rng, v.tail)}`;
}

/** `lines` lines of `style`, joined by newlines. */
export function syntheticText(style: TextStyle, lines: number, seed = 0): string {
  const rng = mulberry32((seed * 2654435761 + (style === 'verse' ? 17 : 3)) >>> 0);
  const line = style === 'verse' ? verseLine : storyLine;
  return Array.from({ length: lines }, () => line(rng)).join('\n') + '\n';
}
