#!/usr/bin/env node
interface Part<T> {
  name: string;
  value: T;
}

const tpl: string = `first

// not a comment

last`;
const re: RegExp = /["'`]/g;
const half = (x: number): number => x / 2;
@FILLER@
const part: Part<number> = { name: "bracket", value: half(84) };
console.log(JSON.stringify([tpl, re.source, part]));
