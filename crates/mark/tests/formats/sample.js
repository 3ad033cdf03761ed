#!/usr/bin/env node
'use strict';

const tpl = `first

// not a comment

last`;
const re = /["'`]/g;
const url = "http://example.com/*not a comment*/";
const ratio = 10 / 2 / 5;
@FILLER@
const later = `${ratio}

// inside a template with a substitution
`;
console.log(JSON.stringify([tpl, re.source, url, ratio, later]));
