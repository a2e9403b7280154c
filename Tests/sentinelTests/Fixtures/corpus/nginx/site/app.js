fetch('/api/stock').then((r) => r.json()).then((stock) => console.log(stock));
