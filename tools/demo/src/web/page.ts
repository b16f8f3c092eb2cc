// The one page of the demo: the catalogue as buttons, and the leaderboard.
export const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Trellis demo: emoji vote</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}button{font-size:2em;margin:.1em;background:none;border:1px solid #ccc;border-radius:.3em;cursor:pointer}#msg{min-height:1.5em}</style>
</head><body>
<h1>Vote for your favourite emoji</h1>
<div id="emojis"></div><p id="msg"></p>
<h2>Leaderboard</h2><ol id="board"></ol>
<script>
const msg = document.getElementById('msg');
async function board() {
  const rows = await (await fetch('/api/leaderboard')).json();
  document.getElementById('board').innerHTML = rows.map(r => '<li>' + r.unicode + ' ' + r.votes + '</li>').join('');
}
async function vote(e) {
  const res = await fetch('/api/vote?choice=' + encodeURIComponent(e.shortcode), { method: 'POST' });
  msg.textContent = res.ok ? 'Thanks for voting for ' + e.unicode : 'Voting for ' + e.unicode + ' failed: ' + (await res.json()).error;
  board();
}
fetch('/api/list').then(r => r.json()).then(list => {
  const box = document.getElementById('emojis');
  for (const e of list) { const b = document.createElement('button'); b.textContent = e.unicode; b.title = e.shortcode; b.onclick = () => vote(e); box.append(b); }
  board();
});
</script></body></html>
`;
